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
            k(
                "target",
                "string",
                "the target that answered: its inventory host name (`-i`), else its socket address",
            ),
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
        k("target", "string", "the target that answered: its inventory host name (`-i`), else its socket address"),
    ],
    open: Some("every column of `show stat` under HAProxy's own name (`pxname`, `svname`, `status`, `weight`, `qcur`, `qmax`, `scur`, `smax`, `slim`, `check_status`, ...); an empty column reads as (), never 0; the set depends on the version"),
};

pub const INFO: Shape = Shape {
    what: "an `info()` map",
    primitives: &["info", "info_all"],
    keys: &[k("target", "string", "the target that answered: its inventory host name (`-i`), else its socket address")],
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
    keys: &[
        k("name", "string", "the target's name in `target` keys: the inventory host name, else the socket address"),
        k("host", "string", "the machine: `ansible_host` (else the inventory name), `localhost` for a socket path, the host of HOST:PORT"),
        k("port", "int or ()", "`ansible_port`, SSH's port; () when not set"),
        k("user", "string or ()", "`ansible_user`; () when not set"),
        k("socket", "string", "the admin socket: `harun_socket` (default `/run/haproxy/admin.sock`), or the address given with `-s`"),
        k("groups", "array of strings", "the inventory groups of the host, sorted, without `all` (Ansible's `group_names`); empty for `-s`"),
        k("connection", "string", "`local` (harun reaches the socket from this machine), `ssh` or `replay`"),
        k("address", "string", "what harun connects to, as `-s` would take it"),
    ],
    open: None,
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
        k(
            "backend",
            "string or ()",
            "on `backends` and `servers` rows",
        ),
        k("server", "string or ()", "on `servers` rows"),
        k(
            "name",
            "string",
            "the frontend, the backend, or `backend/server` (`total` on the whole)",
        ),
        k("requests", "int", "requests (HTTP) and sessions (TCP)"),
        k("status_1xx", "int", "1xx responses"),
        k("status_2xx", "int", "2xx responses"),
        k("status_3xx", "int", "3xx responses"),
        k("status_4xx", "int", "4xx responses"),
        k("status_5xx", "int", "5xx responses"),
        k(
            "status_other",
            "int",
            "-1 (no response) and codes outside 1xx-5xx",
        ),
        k("error_pct", "float", "5xx among HTTP responses, percent"),
        k(
            "abnormal",
            "int",
            "sessions whose termination state does not start with `-`",
        ),
        k("abnormal_pct", "float", "the same in percent of requests"),
        k(
            "terminations",
            "map",
            "termination state to count, `#{\"sH--\": 12, \"----\": 9000}`",
        ),
        k(
            "terminations_5xx",
            "map",
            "the same for 5xx responses only: why they failed",
        ),
        k("retries", "int", "connection retries"),
        k(
            "redispatched",
            "int",
            "requests sent to another server after a failure",
        ),
        k("queued", "int", "requests that waited in a queue (Tw > 0)"),
        k("bytes_read", "int", "bytes sent to clients"),
        k(
            "t_request",
            "map",
            "TR percentiles (frontends and the total only: the client's time)",
        ),
        k(
            "t_queue",
            "map",
            "Tw percentiles (servers, backends and the total)",
        ),
        k(
            "t_connect",
            "map",
            "Tc percentiles (servers, backends and the total)",
        ),
        k(
            "t_response",
            "map",
            "Tr percentiles (servers, backends and the total)",
        ),
        k("t_active", "map", "Ta percentiles (HTTP)"),
        k(
            "t_total",
            "map",
            "Tt percentiles (TCP, or `%Tt` in a custom format)",
        ),
    ],
    open: None,
};

/// The percentiles of one timer in a `log_summary()` aggregate.
pub const LOG_TIMER: Shape = Shape {
    what: "a `log_summary()` timer",
    primitives: &[],
    keys: &[
        k("count", "int", "values recorded (without the -1 ones)"),
        k(
            "not_reached",
            "int",
            "-1 values: the session ended before that phase",
        ),
        k(
            "p50",
            "int or ()",
            "median in ms: exact below 1 s, at most 0.8% low above; () without values",
        ),
        k("p90", "int or ()", "90th percentile in ms"),
        k("p99", "int or ()", "99th percentile in ms"),
        k("max", "int or ()", "the largest value, exact"),
        k("mean", "float or ()", "the mean, exact"),
    ],
    open: None,
};

pub const LOG_BUCKET: Shape = Shape {
    what: "a `log_summary()` time bucket",
    primitives: &[],
    keys: &[
        k(
            "time",
            "string",
            "the start of the bucket on the log's clock, `2026-11-23T19:23`",
        ),
        k("requests", "int", "requests that started in it"),
        k("status_4xx", "int", "of which 4xx"),
        k("status_5xx", "int", "of which 5xx"),
        k(
            "abnormal",
            "int",
            "of which ended abnormally (termination state not `-`)",
        ),
        k("queued", "int", "of which waited in a queue"),
        k("t_mean", "float", "mean Ta (HTTP) or Tt (TCP), ms"),
        k("t_max", "int", "largest Ta or Tt, ms"),
    ],
    open: None,
};

pub const LOG_NOTICE: Shape = Shape {
    what: "a `log_summary()` notice",
    primitives: &[],
    keys: &[
        k("time", "string", "the syslog timestamp as written (empty without one)"),
        k("event", "string", "`server_down`, `server_up`, `server_maint`, `server_other`, `no_server`, `check`, `proxy`, `other`"),
        k("subject", "string", "`backend/server`, the backend or the proxy (empty when none)"),
        k("level", "string", "`WARNING`, `ALERT`... from HAProxy's stderr format (empty from syslog)"),
        k("text", "string", "the message, cut at 300 bytes"),
    ],
    open: None,
};

pub const LOG_TOP_ROW: Shape = Shape {
    what: "a `log_summary()` top-list row",
    primitives: &[],
    keys: &[
        k(
            "key",
            "string",
            "the client address, the URL path or the User-Agent",
        ),
        k(
            "errors",
            "int",
            "its errors (5xx, or a termination state not starting with `-` or `L`)",
        ),
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

pub const TERMINATION_FLAG: Shape = Shape {
    what: "a termination state character",
    primitives: &[],
    keys: &[
        k("code", "string", "the character"),
        k(
            "meaning",
            "string",
            "what it means (HAProxy configuration.txt 8.5)",
        ),
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

pub const LOG_FORMAT: Shape = Shape {
    what: "a custom log-format",
    primitives: &[],
    keys: &[
        k("format", "string", "the `log-format` string, unquoted"),
        k("location", "string", "`file:line` of its `log-format` line"),
    ],
    open: None,
};

pub const CONFIG_SERVER_LINE: Shape = Shape {
    what: "a `proxy_config()` server line",
    primitives: &[],
    keys: &[
        k("server", "string", "the server's name"),
        k("maxconn", "int or ()", "its `maxconn`; () when unset"),
        k("location", "string", "`file:line` of its `server` line"),
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

// ---------------------------------------------------------------------------
// The other primitives' shapes. Kept after the first ones and in their own
// list (`MORE_SHAPES`) so that work adding shapes to `SHAPES` in parallel
// merges without touching these lines.

/// What `bundle()` returns: a string, not a map.
pub const BUNDLE_PATH: Shape = Shape {
    what: "a bundle path",
    primitives: &["bundle"],
    keys: &[],
    open: Some("a string: the absolute path of the new bundle directory, to pass to `save()` and `save_config()`"),
};

pub const SAVED_PATH: Shape = Shape {
    what: "a saved file's path",
    primitives: &["save"],
    keys: &[],
    open: Some("a string: the absolute path of the file written"),
};

pub const HAPROXY_VV: Shape = Shape {
    what: "`haproxy -vv` text",
    primitives: &["haproxy_vv"],
    keys: &[],
    open: Some("a string: the output of `haproxy -vv` as the binary printed it (at most 256 KiB)"),
};

pub const SEND_REPLY: Shape = Shape {
    what: "a `send()` reply",
    primitives: &["send"],
    keys: &[],
    open: Some("a string, HAProxy's reply, with one target; with several, a map with one key per target (its name, as `targets()` gives it) and its reply as the value"),
};

pub const CONFIG_MODEL: Shape = Shape {
    what: "a `config()` model",
    primitives: &["config"],
    keys: &[
        k("files", "array of strings", "every file read, in HAProxy's load order (a directory's `*.cfg` sorted)"),
        k("sections", "array of maps", "every section in load order, each a configuration section (keys below)"),
        k("notes", "array of maps", "syntax problems noticed while parsing (unterminated quote, unbalanced `.if`), each a parse note (keys below)"),
    ],
    open: None,
};

pub const CONFIG_SECTION: Shape = Shape {
    what: "a configuration section",
    primitives: &[],
    keys: &[
        k("kind", "string", "`global`, `defaults`, `frontend`, `backend`, `listen`, `resolvers`, `peers`, `userlist`, `ring`, `program`, ..."),
        k("name", "string or ()", "the section's name; () for `global` and an unnamed `defaults`"),
        k("args", "array of strings", "the words after the name (`from defname`)"),
        k("file", "string", "the file of the section line"),
        k("line", "int", "the line of the section line (1-based)"),
        k("condition", "string or ()", "the `.if` condition the section line sits under; () when none"),
        k("directives", "array of maps", "the section's statements in order, each a configuration directive (keys below)"),
    ],
    open: None,
};

pub const CONFIG_DIRECTIVE: Shape = Shape {
    what: "a configuration directive",
    primitives: &[],
    keys: &[
        k("keyword", "string", "the first word as written (`server`, `option`, `http-request`, `stats`...)"),
        k("args", "array of strings", "the other words, unquoted and unescaped (`option httplog` is keyword `option`, args `[\"httplog\"]`)"),
        k("file", "string", "the file of the statement"),
        k("line", "int", "its line (1-based)"),
        k("condition", "string or ()", "the enclosing `.if`/`.elif`/`.else` conditions joined with ` && `; () when none"),
        k("env_vars", "array of strings", "environment variables referenced in double quotes, left unexpanded"),
    ],
    open: None,
};

pub const CONFIG_NOTE: Shape = Shape {
    what: "a parse note",
    primitives: &[],
    keys: &[
        k("file", "string", "the file"),
        k("line", "int", "the line (1-based)"),
        k("message", "string", "what is wrong there"),
    ],
    open: None,
};

pub const CONFIG_CHECK: Shape = Shape {
    what: "a `config_check()` result",
    primitives: &["config_check"],
    keys: &[
        k("valid", "bool or ()", "`haproxy -c` accepted the configuration (exit 0 or 2); () when it could not run"),
        k("exit_code", "int or ()", "0 valid, 1 errors (or warnings under `zero-warning`), 2 valid without listener; () when it could not run"),
        k("no_listener", "bool or ()", "valid but no listener (exit 2); () when it could not run"),
        k("messages", "array of maps", "alerts, warnings, notices, each a `haproxy -c` message (keys below); empty when it could not run"),
        k("version", "string or ()", "the HAProxy version that checked (`2.6.12-1+deb12u1`); () when unknown"),
        k("other", "array of strings", "output lines that are not messages (`Configuration file is valid`)"),
        k("error", "string or ()", "why `haproxy -c` could not run, with the fix; () when it ran"),
        k("error_kind", "string or ()", "`binary_not_found`, `spawn`, `timeout`, `no_path` or `not_recorded` (replay); () when it ran"),
    ],
    open: None,
};

pub const CHECK_MESSAGE: Shape = Shape {
    what: "a `haproxy -c` message",
    primitives: &[],
    keys: &[
        k("level", "string", "`alert`, `warning`, `notice` or `diag`"),
        k("file", "string or ()", "the file it names; () when none"),
        k("line", "int or ()", "the line it names; () when none"),
        k(
            "proxy",
            "string or ()",
            "the proxy of a `'server bk/s'` part; () when none",
        ),
        k(
            "server",
            "string or ()",
            "the server of a `'server bk/s'` part; () when none",
        ),
        k(
            "text",
            "string",
            "the message, continuation lines joined with a line break",
        ),
    ],
    open: None,
};

pub const IRQBALANCE: Shape = Shape {
    what: "an `irqbalance()` result",
    primitives: &["irqbalance"],
    keys: &[
        k(
            "running",
            "bool",
            "an `irqbalance` process runs (from /proc/*/comm)",
        ),
        k("pids", "array of ints", "its process ids, sorted"),
    ],
    open: None,
};

pub const CPUS: Shape = Shape {
    what: "a `cpus()` result",
    primitives: &["cpus"],
    keys: &[
        k("online", "int", "number of online CPUs"),
        k(
            "list",
            "string",
            "the kernel's list of online CPUs (`0-3,6`)",
        ),
        k(
            "source",
            "string",
            "`sysfs`, or `available_parallelism` when /sys/devices/system/cpu/online is unreadable",
        ),
    ],
    open: None,
};

pub const SYSTEM_CHECK: Shape = Shape {
    what: "a `system_check()` result",
    primitives: &["system_check"],
    keys: &[
        k(
            "irqbalance",
            "map",
            "whether irqbalance runs, as `irqbalance()` (keys below)",
        ),
        k("cpus", "map", "the online CPUs, as `cpus()` (keys below)"),
        k("nbproc", "int", "HAProxy processes (1 on 2.5+)"),
        k("nbthread", "int", "HAProxy threads"),
        k(
            "cpu_map",
            "bool",
            "the configuration pins threads or processes with `cpu-map`",
        ),
        k(
            "source",
            "string",
            "where nbproc/nbthread come from: `show info on <target>`, `config` or `default`",
        ),
        k(
            "notes",
            "array of strings",
            "what could not be read and was assumed",
        ),
        k(
            "findings",
            "array of findings",
            "the `system.irqbalance` finding when it applies (recorded too; keys below)",
        ),
    ],
    open: None,
};

/// One entry of `system_checks()`: a host and its `system_check()`.
pub const HOST_SYSTEM_CHECK: Shape = Shape {
    what: "a `system_checks()` entry",
    primitives: &["system_checks"],
    keys: &[
        k(
            "target",
            "string",
            "the host, as `check_hosts()` names it (`localhost` for this machine)",
        ),
        k("check", "map", "its `system_check()` (keys below)"),
    ],
    open: None,
};

pub const RSYSLOG_SETUP: Shape = Shape {
    what: "an rsyslog setup",
    primitives: &[],
    keys: &[
        k("files", "array of strings", "rsyslog files read, in order (`--rsyslog-conf`, its includes, `--rsyslog-dir`)"),
        k("udp_inputs", "array of maps", "UDP listeners (imudp), each an rsyslog UDP input (keys below)"),
        k("imudp_loaded", "bool", "the imudp module is loaded"),
        k("imuxsock_loaded", "bool", "the imuxsock module is loaded (`/dev/log`)"),
        k("unix_sockets", "array of maps", "extra unix sockets (`$AddUnixListenSocket`, imuxsock `Socket=`), each an rsyslog unix socket (keys below)"),
        k("notes", "array of strings", "what could not be read (a missing rsyslog is an empty setup with a note)"),
    ],
    open: None,
};

pub const RSYSLOG_UDP_INPUT: Shape = Shape {
    what: "an rsyslog UDP input",
    primitives: &[],
    keys: &[
        k(
            "address",
            "string or ()",
            "the address it binds; () for all addresses",
        ),
        k("port", "int", "the UDP port"),
        k("location", "string", "`file:line` of the statement"),
        k(
            "style",
            "string",
            "`legacy` (`$UDPServerRun`) or `rainerscript` (`input(type=\"imudp\")`)",
        ),
    ],
    open: None,
};

pub const RSYSLOG_SOCKET: Shape = Shape {
    what: "an rsyslog unix socket",
    primitives: &[],
    keys: &[
        k("path", "string", "the socket path rsyslog creates"),
        k("location", "string", "`file:line` of the statement"),
    ],
    open: None,
};

pub const HOST_FACTS: Shape = Shape {
    what: "a `host_facts()` result",
    primitives: &["host_facts"],
    keys: &[
        k("irqbalance", "map", "whether irqbalance runs, as `irqbalance()` (keys below)"),
        k("cpus", "map", "the online CPUs, as `cpus()` (keys below)"),
        k("rsyslog", "map", "rsyslog as read from `--rsyslog-conf`/`--rsyslog-dir` (keys below)"),
        k("local_addresses", "array of strings or ()", "the addresses of the host's interfaces, loopback included; () in the replay of a bundle taken before snapshots recorded them"),
    ],
    open: None,
};

pub const LOG_SETUP: Shape = Shape {
    what: "a `log_setup()` result",
    primitives: &["log_setup"],
    keys: &[
        k("haproxy", "array of maps", "HAProxy's `log` lines, each a log target (keys below)"),
        k("chroot", "map or ()", "HAProxy's `chroot` (keys below); () when it does not chroot"),
        k("rsyslog", "map", "what rsyslog listens on (keys below)"),
        k("notes", "array of strings", "`log` lines that could not be parsed, with `file:line`"),
        k("config_error", "string or ()", "why the configuration could not be read; () when it was"),
        k("findings", "array of findings", "what `log_check()` would record (`logs.*`), not recorded here (keys below)"),
        k("summary", "string", "the setup in one line, for a table (`2 targets: /dev/log (chroot, rsyslog socket present)`)"),
    ],
    open: None,
};

pub const LOG_TARGET: Shape = Shape {
    what: "a log target",
    primitives: &[],
    keys: &[
        k(
            "kind",
            "string",
            "`udp`, `tcp`, `unix`, `stdout`, `stderr`, `ring`, `fd` or `global` (`log global`)",
        ),
        k(
            "address",
            "string or ()",
            "the address as written (`127.0.0.1:514`, `/dev/log`, `ring@buf`); () for `log global`",
        ),
        k(
            "host",
            "string or ()",
            "UDP/TCP host (IPv6 without brackets); () for other kinds",
        ),
        k(
            "port",
            "int or ()",
            "UDP/TCP port (514 when omitted for UDP); () for other kinds",
        ),
        k(
            "path",
            "string or ()",
            "unix socket path (`@name` for abstract sockets); () for other kinds",
        ),
        k(
            "ring",
            "string or ()",
            "ring name of `ring@name`; () for other kinds",
        ),
        k(
            "fd",
            "int or ()",
            "file descriptor of `fd@N` (1 and 2 for stdout/stderr); () for other kinds",
        ),
        k(
            "facility",
            "string or ()",
            "syslog facility (`local0`); () for `log global`",
        ),
        k(
            "level",
            "string or ()",
            "the least severe level sent (`notice` sends notice and more severe); () when all",
        ),
        k(
            "min_level",
            "string or ()",
            "the most severe level sent; () when all",
        ),
        k(
            "format",
            "string or ()",
            "`format` option (`rfc5424`, `short`, `raw`...); () when default",
        ),
        k(
            "len",
            "int or ()",
            "`len` option (maximum line length); () when default",
        ),
        k(
            "sample",
            "string or ()",
            "`sample` option (`1:2`); () when every line is sent",
        ),
        k("location", "string", "`file:line` of the `log` line"),
        k(
            "section",
            "string",
            "the section it sits in (`global`, `defaults`, `frontend fe_main`)",
        ),
        k(
            "display",
            "string",
            "the target in one word for tables (`/dev/log`, `127.0.0.1:514`, `stdout`)",
        ),
    ],
    open: None,
};

pub const LOG_CHROOT: Shape = Shape {
    what: "a `chroot` line",
    primitives: &[],
    keys: &[
        k("dir", "string", "the directory HAProxy chroots into"),
        k("location", "string", "`file:line` of the `chroot` line"),
    ],
    open: None,
};

pub const SYSLOG_MESSAGE: Shape = Shape {
    what: "a received syslog message",
    primitives: &["listen_logs"],
    keys: &[
        k("pri", "int", "the syslog PRI (facility x 8 + severity)"),
        k("facility", "int", "facility number"),
        k("severity", "int", "severity number (0 emerg to 7 debug)"),
        k("facility_name", "string", "HAProxy's name of the facility (`local0`, `daemon`)"),
        k("severity_name", "string", "HAProxy's name of the severity (`info`, `notice`, `err`)"),
        k("format", "string", "`rfc3164`, `local` (RFC 3164 without host name), `rfc5424` or `priority` (PRI then text)"),
        k("timestamp", "string or ()", "the header's timestamp as written; () when none"),
        k("host", "string or ()", "the header's host name; () when none"),
        k("tag", "string or ()", "the program tag (`haproxy`); () when none"),
        k("pid", "int or ()", "the process id in the tag; () when none"),
        k("message", "string", "the text after the header"),
        k("http", "map or ()", "the message parsed as an `option httplog` line (keys below); () when it is not one"),
        k("tcp", "map or ()", "the message parsed as an `option tcplog` line (keys below); () when it is not one"),
    ],
    open: None,
};

/// Keys an `option httplog` and an `option tcplog` line share.
const LOG_LINE_START: [Key; 6] = [
    k("client_ip", "string", "the client's address"),
    k(
        "client_port",
        "int or ()",
        "the client's port; () when not logged (unix socket)",
    ),
    k(
        "accept_date",
        "string",
        "when the connection was accepted, as logged (`30/Nov/2026:12:45:01.123`)",
    ),
    k("frontend", "string", "frontend name (`~` suffix: TLS)"),
    k("backend", "string", "backend name"),
    k(
        "server",
        "string",
        "server name; `<NOSRV>` when none was chosen",
    ),
];

/// The connection counters and queues both log formats end with.
const LOG_LINE_COUNTERS: [Key; 8] = [
    k("actconn", "int", "connections on the process when logged"),
    k("feconn", "int", "connections on the frontend"),
    k("beconn", "int", "connections on the backend"),
    k("srv_conn", "int", "connections on the server"),
    k("retries", "int", "connection retries"),
    k(
        "redispatched",
        "bool",
        "redispatched to another server (`+` before retries)",
    ),
    k(
        "srv_queue",
        "int",
        "requests queued on the server before this one",
    ),
    k(
        "backend_queue",
        "int",
        "requests queued on the backend before this one",
    ),
];

pub const HTTP_LOG: Shape = Shape {
    what: "an httplog line",
    primitives: &[],
    keys: &concat_keys::<31>(&[
        &LOG_LINE_START,
        &[
            k(
                "t_request",
                "int",
                "TR: ms to receive the full request headers (-1: never)",
            ),
            k(
                "t_queue",
                "int",
                "Tw: ms waiting in queues (-1: aborted before)",
            ),
            k(
                "t_connect",
                "int",
                "Tc: ms to connect to the server (-1: never connected)",
            ),
            k(
                "t_response",
                "int",
                "Tr: ms for the server to send the response headers (-1: none)",
            ),
            k(
                "t_active",
                "int",
                "Ta: total active time of the request in ms",
            ),
            k("status", "int", "HTTP status sent to the client"),
            k("bytes_read", "int", "bytes sent to the client"),
            k(
                "captured_request_cookie",
                "string",
                "`capture cookie` of the request (`-` when none)",
            ),
            k(
                "captured_response_cookie",
                "string",
                "`capture cookie` of the response (`-` when none)",
            ),
            k(
                "termination_state",
                "string",
                "four characters (`----`, `SC--`, `cD--`)",
            ),
            k(
                "termination",
                "string",
                "the first two termination characters in words",
            ),
        ],
        &LOG_LINE_COUNTERS,
        &[
            k(
                "captured_request_headers",
                "string or ()",
                "`capture request header` values (`{a|b}`); () when none",
            ),
            k(
                "captured_response_headers",
                "string or ()",
                "`capture response header` values; () when none",
            ),
            k(
                "request",
                "string",
                "the request line without quotes (`<BADREQ>` for an invalid request)",
            ),
            k(
                "method",
                "string or ()",
                "the request method; () for `<BADREQ>`",
            ),
            k("uri", "string or ()", "the request URI; () for `<BADREQ>`"),
            k(
                "logasap",
                "bool",
                "a timer or the byte count had a `+` (`option logasap`)",
            ),
        ],
    ]),
    open: None,
};

pub const TCP_LOG: Shape = Shape {
    what: "a tcplog line",
    primitives: &[],
    keys: &concat_keys::<21>(&[
        &LOG_LINE_START,
        &[
            k(
                "t_queue",
                "int",
                "Tw: ms waiting in queues (-1: not reached)",
            ),
            k(
                "t_connect",
                "int",
                "Tc: ms to connect to the server (-1: never connected)",
            ),
            k("t_total", "int", "Tt: total session time in ms"),
            k("bytes_read", "int", "bytes sent to the client"),
            k(
                "termination_state",
                "string",
                "two characters (`--`, `SC`, `cD`)",
            ),
            k(
                "termination",
                "string",
                "the termination characters in words",
            ),
        ],
        &LOG_LINE_COUNTERS,
        &[k(
            "logasap",
            "bool",
            "a timer or the byte count had a `+` (`option logasap`)",
        )],
    ]),
    open: None,
};

pub const COLLECTED_LOGS: Shape = Shape {
    what: "a `collect_logs()` result",
    primitives: &["collect_logs"],
    keys: &[
        k(
            "messages",
            "array of maps",
            "what `listen_logs()` returns: each a received syslog message (keys below)",
        ),
        k(
            "datagrams",
            "int",
            "datagrams received in total (messages, junk and those over `max`)",
        ),
        k("junk", "int", "datagrams that are not syslog (no `<PRI>`)"),
        k(
            "junk_sample",
            "array of strings",
            "the first junk datagrams, truncated and lossily decoded",
        ),
        k("full", "bool", "stopped because `max` messages arrived"),
    ],
    open: None,
};

pub const HTTP_PROBE: Shape = Shape {
    what: "an `http_probe()` result",
    primitives: &["http_probe"],
    keys: &[
        k("url", "string", "the URL probed"),
        k(
            "status",
            "int",
            "the HTTP status (a 301 is a result: redirects are not followed)",
        ),
        k(
            "reason",
            "string",
            "the status's standard reason (`OK`, `Service Unavailable`); empty when unknown",
        ),
        k(
            "version",
            "string",
            "the HTTP version of the response (`HTTP/1.1`)",
        ),
        k("headers", "map", "the response headers (keys below)"),
        k(
            "elapsed_ms",
            "int",
            "ms from sending to the response headers",
        ),
        k(
            "body",
            "string",
            "the first 2 KiB of the body, lossily decoded; empty for HEAD",
        ),
    ],
    open: None,
};

pub const HTTP_HEADERS: Shape = Shape {
    what: "response headers",
    primitives: &[],
    keys: &[],
    open: Some("one key per response header, its name lowercased (`x-served-by`), the value as a string; a header sent several times has its values joined with `, `. Read one that may be absent with `h.get(\"x-served-by\")`"),
};

pub const SEND_EACH: Shape = Shape {
    what: "a `send_each()` result",
    primitives: &["send_each"],
    keys: &[],
    open: Some("one key per target, its name as `targets()` gives it, the value a `send_each()` outcome (keys below)"),
};

pub const SEND_OUTCOME: Shape = Shape {
    what: "a `send_each()` outcome",
    primitives: &[],
    keys: &[
        k("ok", "bool", "the target answered"),
        k("reply", "string or ()", "the reply text; () when it failed"),
        k("error", "string or ()", "why it failed; () when it answered"),
        k("kind", "string or ()", "the error's kind (`unreachable`, `timeout`, `unknown_command`...); () when it answered"),
        k("advice", "string or ()", "what to check when the socket could not be talked to, for its cause (no such file, refused, permission, silent, not HAProxy); () otherwise"),
        k("at", "string or ()", "RFC 3339 UTC time of the reply (in a replay, the recorded one); () when a replay has none"),
    ],
    open: None,
};

pub const TRACE_HEADERS: Shape = Shape {
    what: "a `trace_headers()` result",
    primitives: &["trace_headers"],
    keys: &[
        k("sets", "array of maps", "where a section sets the header, each a header setting (keys below)"),
        k("uncovered_frontends", "array of maps", "frontends (and listens) whose responses do not carry it, each an uncovered proxy (keys below)"),
        k("uncovered_backends", "array of maps", "backends (and listens) whose responses do not carry it, each an uncovered proxy (keys below)"),
    ],
    open: None,
};

pub const HEADER_SET: Shape = Shape {
    what: "a header setting",
    primitives: &[],
    keys: &[
        k(
            "section",
            "string",
            "the section that sets it (`backend bk_app`, `defaults`)",
        ),
        k("header", "string", "the header name as written"),
        k(
            "value",
            "string",
            "the value as written (`%[be_name]/%[srv_name]`)",
        ),
        k(
            "line",
            "string",
            "the directive as written (`http-response set-header X-Served-By ...`)",
        ),
        k("location", "string", "`file:line`"),
    ],
    open: None,
};

pub const UNCOVERED_PROXY: Shape = Shape {
    what: "an uncovered proxy",
    primitives: &[],
    keys: &[
        k("name", "string or ()", "the proxy's name"),
        k("kind", "string", "`frontend`, `backend` or `listen`"),
        k("location", "string", "`file:line` of its section line"),
    ],
    open: None,
};

pub const SAVE_CONFIG: Shape = Shape {
    what: "a `save_config()` result",
    primitives: &["save_config"],
    keys: &[
        k(
            "paths",
            "array of strings",
            "the configuration paths (`-c`) as given",
        ),
        k(
            "files",
            "array of maps",
            "one per configuration file, each a copied file (keys below)",
        ),
    ],
    open: None,
};

pub const COPIED_FILE: Shape = Shape {
    what: "a copied file",
    primitives: &[],
    keys: &[
        k(
            "file",
            "string",
            "its path inside the bundle (`config/etc/haproxy/haproxy.cfg`)",
        ),
        k("source", "string", "the path it had on the host"),
        k("ok", "bool", "it was copied"),
        k("error", "string or ()", "why it was not; () when it was"),
    ],
    open: None,
};

pub const DRAIN_REMAINING: Shape = Shape {
    what: "a drain's `remaining` map",
    primitives: &[],
    keys: &[
        k(
            "scur",
            "int",
            "sessions left, summed over the servers and targets",
        ),
        k(
            "qcur",
            "int",
            "queued requests left, summed over the servers and targets",
        ),
    ],
    open: None,
};

/// One process of a master CLI's `show proc`, with its sessions.
pub const PROCESS: Shape = Shape {
    what: "a `processes()` entry",
    primitives: &["processes"],
    keys: &[
        k("target", "string", "the master CLI (`-s master@PATH`, or its inventory host name) that lists the process"),
        k("pid", "int", "the process id"),
        k("role", "string", "`master`, `worker` (a current worker: it takes the new traffic), `old worker` (from before a reload, still finishing its sessions) or `program`"),
        k("type", "string", "the `<type>` column of `show proc`: `master`, `worker`, or a program's name"),
        k("reloads", "int", "the master: reloads done; a worker: reloads since it started (an old worker has 1 or more)"),
        k("failed_reloads", "int", "the master's failed reloads (`[failed: N]`); 0 for the others"),
        k("uptime_s", "int", "seconds since the process started (its age)"),
        k("version", "string", "the HAProxy version the process runs (`-` for a program)"),
        k("sessions", "int or ()", "a worker's current connections (`CurrConns` of `@!<pid> show info`); () for the master, a program, or a worker that did not answer"),
    ],
    open: None,
};

/// One row of `disagreements()`: a backend or server and the field on which
/// the targets that have it differ.
pub const DISAGREEMENT: Shape = Shape {
    what: "a `disagreements()` row",
    primitives: &["disagreements"],
    keys: &[
        k("backend", "string", "backend (proxy) name"),
        k("server", "string or ()", "server name, without the backend; () on a backend's `present` row"),
        k("name", "string", "`backend/server`, or the backend alone on a backend's row"),
        k("field", "string", "what differs: `present` (on some targets only), `admin` (`maint`, `drain`, `ready`), `op_state` (`running`, `stopped`, `stopping`; slowstart's `starting` counts as running), `weight` (`srv_uweight`), `initial_weight` (`srv_iweight`, the configuration's), `check` (the last check's status, `L7OK`, `L4CON`..., or `none`, `disabled`)"),
        k("values", "map", "one key per compared target, its name as `targets()` gives it, and its value: a bool for `present`, an int for the weights, a string otherwise. A server's row leaves out the targets without it (its `present` row names them); `op_state` and `check` leave out a target where the server is in maintenance or its check is in transition"),
        k("targets", "array of strings", "the compared targets, in target order (the keys of `values`)"),
        k("summary", "string", "the row in words: `lb1 says maint; lb2, lb3 say ready`, `on lb1; not on lb2`"),
    ],
    open: None,
};

/// The shapes above, after `SHAPES` (see [`all_shapes`]).
pub const MORE_SHAPES: &[&Shape] = &[
    &TARGET,
    &PROCESS,
    &DISAGREEMENT,
    &BUNDLE_PATH,
    &SAVED_PATH,
    &HAPROXY_VV,
    &SEND_REPLY,
    &CONFIG_MODEL,
    &CONFIG_SECTION,
    &CONFIG_DIRECTIVE,
    &CONFIG_NOTE,
    &CONFIG_CHECK,
    &CHECK_MESSAGE,
    &IRQBALANCE,
    &CPUS,
    &SYSTEM_CHECK,
    &HOST_SYSTEM_CHECK,
    &RSYSLOG_SETUP,
    &RSYSLOG_UDP_INPUT,
    &RSYSLOG_SOCKET,
    &HOST_FACTS,
    &LOG_SETUP,
    &LOG_TARGET,
    &LOG_CHROOT,
    &SYSLOG_MESSAGE,
    &HTTP_LOG,
    &TCP_LOG,
    &COLLECTED_LOGS,
    &HTTP_PROBE,
    &HTTP_HEADERS,
    &SEND_EACH,
    &SEND_OUTCOME,
    &TRACE_HEADERS,
    &HEADER_SET,
    &UNCOVERED_PROXY,
    &SAVE_CONFIG,
    &COPIED_FILE,
    &DRAIN_REMAINING,
];

/// A map (or each map of an array) held in another shape's key.
#[derive(Debug)]
pub struct Nested {
    pub parent: &'static Shape,
    /// The key in `parent`; `*` for every value of an open map
    /// (`send_each()`: target => outcome).
    pub key: &'static str,
    pub shape: &'static Shape,
}

const fn nest(parent: &'static Shape, key: &'static str, shape: &'static Shape) -> Nested {
    Nested { parent, key, shape }
}

/// Which shape each nested map has: `harun doc` prints them under their
/// primitive and the integration tests walk real values with it.
pub const NESTED: &[Nested] = &[
    nest(&WRITE_OUTCOME, "before", &SERVER_SNAPSHOT),
    nest(&WRITE_OUTCOME, "after", &SERVER_SNAPSHOT),
    nest(&DRAIN_RESULT, "remaining", &DRAIN_REMAINING),
    nest(&DRAIN_RESULT, "status", &DRAIN_PROGRESS),
    nest(&DRAIN_RESULT, "writes", &WRITE_OUTCOME),
    nest(&LIVE_CHECK, "infos", &INFO),
    nest(&LIVE_CHECK, "process", &FINDING),
    nest(&LIVE_CHECK, "servers", &FINDING),
    nest(&LIVE_CHECK, "queues", &FINDING),
    nest(&LIVE_CHECK, "errors", &FINDING),
    nest(&CONFIG_MODEL, "sections", &CONFIG_SECTION),
    nest(&CONFIG_MODEL, "notes", &CONFIG_NOTE),
    nest(&CONFIG_SECTION, "directives", &CONFIG_DIRECTIVE),
    nest(&CONFIG_CHECK, "messages", &CHECK_MESSAGE),
    nest(&HOST_SYSTEM_CHECK, "check", &SYSTEM_CHECK),
    nest(&SYSTEM_CHECK, "irqbalance", &IRQBALANCE),
    nest(&SYSTEM_CHECK, "cpus", &CPUS),
    nest(&SYSTEM_CHECK, "findings", &FINDING),
    nest(&RSYSLOG_SETUP, "udp_inputs", &RSYSLOG_UDP_INPUT),
    nest(&RSYSLOG_SETUP, "unix_sockets", &RSYSLOG_SOCKET),
    nest(&HOST_FACTS, "irqbalance", &IRQBALANCE),
    nest(&HOST_FACTS, "cpus", &CPUS),
    nest(&HOST_FACTS, "rsyslog", &RSYSLOG_SETUP),
    nest(&LOG_SETUP, "haproxy", &LOG_TARGET),
    nest(&LOG_SETUP, "chroot", &LOG_CHROOT),
    nest(&LOG_SETUP, "rsyslog", &RSYSLOG_SETUP),
    nest(&LOG_SETUP, "findings", &FINDING),
    nest(&SYSLOG_MESSAGE, "http", &HTTP_LOG),
    nest(&SYSLOG_MESSAGE, "tcp", &TCP_LOG),
    nest(&COLLECTED_LOGS, "messages", &SYSLOG_MESSAGE),
    nest(&HTTP_PROBE, "headers", &HTTP_HEADERS),
    nest(&SEND_EACH, "*", &SEND_OUTCOME),
    nest(&TRACE_HEADERS, "sets", &HEADER_SET),
    nest(&TRACE_HEADERS, "uncovered_frontends", &UNCOVERED_PROXY),
    nest(&TRACE_HEADERS, "uncovered_backends", &UNCOVERED_PROXY),
    nest(&SAVE_CONFIG, "files", &COPIED_FILE),
    nest(&LOG_SUMMARY, "total", &LOG_STATS),
    nest(&LOG_SUMMARY, "frontends", &LOG_STATS),
    nest(&LOG_SUMMARY, "backends", &LOG_STATS),
    nest(&LOG_SUMMARY, "servers", &LOG_STATS),
    nest(&LOG_STATS, "t_request", &LOG_TIMER),
    nest(&LOG_STATS, "t_queue", &LOG_TIMER),
    nest(&LOG_STATS, "t_connect", &LOG_TIMER),
    nest(&LOG_STATS, "t_response", &LOG_TIMER),
    nest(&LOG_STATS, "t_active", &LOG_TIMER),
    nest(&LOG_STATS, "t_total", &LOG_TIMER),
    nest(&LOG_SUMMARY, "buckets", &LOG_BUCKET),
    nest(&LOG_SUMMARY, "notices", &LOG_NOTICE),
    nest(&LOG_SUMMARY, "top_clients", &LOG_TOP_ROW),
    nest(&LOG_SUMMARY, "top_urls", &LOG_TOP_ROW),
    nest(&LOG_SUMMARY, "top_agents", &LOG_TOP_ROW),
    nest(&TERMINATION, "cause", &TERMINATION_FLAG),
    nest(&TERMINATION, "phase", &TERMINATION_FLAG),
    nest(&TERMINATION, "client_cookie", &TERMINATION_FLAG),
    nest(&TERMINATION, "server_cookie", &TERMINATION_FLAG),
    nest(&LOG_FORMATS, "formats", &LOG_FORMAT),
    nest(&PROXY_CONFIG, "servers", &CONFIG_SERVER_LINE),
];

/// Every shape: `SHAPES`, then `MORE_SHAPES`.
pub fn all_shapes() -> impl Iterator<Item = &'static Shape> + Clone {
    SHAPES.iter().chain(MORE_SHAPES).copied()
}

/// The maps nested in `parent`, in the order of its keys.
pub fn nested_in(parent: &Shape) -> Vec<&'static Nested> {
    let mut out: Vec<&'static Nested> = NESTED
        .iter()
        .filter(|n| n.parent.what == parent.what)
        .collect();
    let pos = |key: &str| parent.keys.iter().position(|k| k.name == key);
    out.sort_by_key(|n| pos(n.key));
    out
}

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

/// `show stat` columns that HAProxy 3.0 and 3.2 (Debian's builds) give beyond
/// [`STAT_COLUMNS`]: the new ones before the `-`, then those of the stats
/// modules after it (SSL, HTTP/1, HTTP/2, HTTP/3, QUIC; a build without a
/// module lacks its columns). Read from the lab's `show stat` header of
/// HAProxy 3.0.11 and 3.2.26; with [`STAT_COLUMNS`], what `harun check`
/// takes for a real column.
pub const STAT_COLUMNS_NEWER: &[&str] = &[
    "srid",
    "sess_other",
    "h1sess",
    "h2sess",
    "h3sess",
    "req_other",
    "h1req",
    "h2req",
    "h3req",
    "proto",
    "ssl_sess",
    "ssl_reused_sess",
    "ssl_failed_handshake",
    "ssl_ocsp_staple",
    "ssl_failed_ocsp_staple",
    "h3_data",
    "h3_headers",
    "h3_cancel_push",
    "h3_push_promise",
    "h3_max_push_id",
    "h3_goaway",
    "h3_settings",
    "h3_no_error",
    "h3_general_protocol_error",
    "h3_internal_error",
    "h3_stream_creation_error",
    "h3_closed_critical_stream",
    "h3_frame_unexpected",
    "h3_frame_error",
    "h3_excessive_load",
    "h3_id_error",
    "h3_settings_error",
    "h3_missing_settings",
    "h3_request_rejected",
    "h3_request_cancelled",
    "h3_request_incomplete",
    "h3_message_error",
    "h3_connect_error",
    "h3_version_fallback",
    "pack_decompression_failed",
    "qpack_encoder_stream_error",
    "qpack_decoder_stream_error",
    "quic_rxbuf_full",
    "quic_dropped_pkt",
    "quic_dropped_pkt_bufoverrun",
    "quic_dropped_parsing_pkt",
    "quic_socket_full",
    "quic_sendto_err",
    "quic_sendto_err_unknwn",
    "quic_sent_pkt",
    "quic_lost_pkt",
    "quic_too_short_dgram",
    "quic_retry_sent",
    "quic_retry_validated",
    "quic_retry_error",
    "quic_half_open_conn",
    "quic_hdshk_fail",
    "quic_stless_rst_sent",
    "quic_conn_migration_done",
    "quic_transp_err_no_error",
    "quic_transp_err_internal_error",
    "quic_transp_err_connection_refused",
    "quic_transp_err_flow_control_error",
    "quic_transp_err_stream_limit_error",
    "quic_transp_err_stream_state_error",
    "quic_transp_err_final_size_error",
    "quic_transp_err_frame_encoding_error",
    "quic_transp_err_transport_parameter_error",
    "quic_transp_err_connection_id_limit",
    "quic_transp_err_protocol_violation_error",
    "quic_transp_err_invalid_token",
    "quic_transp_err_application_error",
    "quic_transp_err_crypto_buffer_exceeded",
    "quic_transp_err_key_update_error",
    "quic_transp_err_aead_limit_reached",
    "quic_transp_err_no_viable_path",
    "quic_transp_err_crypto_error",
    "quic_transp_err_unknown_error",
    "quic_data_blocked",
    "quic_stream_data_blocked",
    "quic_streams_blocked_bidi",
    "quic_streams_blocked_uni",
    "h2_headers_rcvd",
    "h2_data_rcvd",
    "h2_settings_rcvd",
    "h2_rst_stream_rcvd",
    "h2_goaway_rcvd",
    "h2_detected_conn_protocol_errors",
    "h2_detected_strm_protocol_errors",
    "h2_rst_stream_resp",
    "h2_goaway_resp",
    "h2_open_connections",
    "h2_backend_open_streams",
    "h2_total_connections",
    "h2_backend_total_streams",
    "h1_open_connections",
    "h1_open_streams",
    "h1_total_connections",
    "h1_total_streams",
    "h1_bytes_in",
    "h1_bytes_out",
    "h1_spliced_bytes_in",
    "h1_spliced_bytes_out",
];

/// `show info` keys of HAProxy 2.6, 3.0 and 3.2 (the lab's, in that order of
/// versions, merged and sorted; `Build info` and `Ulimit-n` cannot be read as
/// properties and are left out; 2.6's `TotalSplicdedBytesOut` is HAProxy's
/// own spelling, fixed later).
pub const INFO_KEYS: &[&str] = &[
    "ActivePeers",
    "BlockedTrafficWarnings",
    "BootTime_ms",
    "BusyPolling",
    "BytesOutRate",
    "CompressBpsIn",
    "CompressBpsOut",
    "CompressBpsRateLim",
    "ConnRate",
    "ConnRateLimit",
    "ConnectedPeers",
    "CumConns",
    "CumRecvLogs",
    "CumReq",
    "CumSslConns",
    "CumStreams",
    "CurrConns",
    "CurrSslConns",
    "CurrStreams",
    "DebugCommandsIssued",
    "DroppedLogs",
    "FailedResolutions",
    "Hard_maxconn",
    "Idle_pct",
    "Jobs",
    "Listeners",
    "MaxConnRate",
    "MaxSessRate",
    "MaxSslConns",
    "MaxSslRate",
    "Maxconn",
    "MaxconnReached",
    "Maxpipes",
    "Maxsock",
    "Memmax_MB",
    "Memmax_bytes",
    "Name",
    "Nbproc",
    "Nbthread",
    "Niced_tasks",
    "Pid",
    "PipesFree",
    "PipesUsed",
    "PoolAlloc_MB",
    "PoolAlloc_bytes",
    "PoolFailed",
    "PoolUsed_MB",
    "PoolUsed_bytes",
    "Process_num",
    "Release_date",
    "Run_queue",
    "SessRate",
    "SessRateLimit",
    "SslBackendKeyRate",
    "SslBackendMaxKeyRate",
    "SslCacheLookups",
    "SslCacheMisses",
    "SslFrontendKeyRate",
    "SslFrontendMaxKeyRate",
    "SslFrontendSessionReuse_pct",
    "SslRate",
    "SslRateLimit",
    "Start_time_sec",
    "Stopping",
    "Tainted",
    "Tasks",
    "TotalBytesOut",
    "TotalSplicdedBytesOut",
    "TotalSplicedBytesOut",
    "TotalWarnings",
    "Unstoppable",
    "Uptime",
    "Uptime_sec",
    "Version",
    "node",
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
    &LOG_ROW,
    &LOG_SUMMARY,
    &LOG_STATS,
    &TERMINATION,
    &LOG_FORMATS,
    &PROXY_CONFIG,
    &LOG_TIMER,
    &LOG_BUCKET,
    &LOG_NOTICE,
    &LOG_TOP_ROW,
    &TERMINATION_FLAG,
    &LOG_FORMAT,
    &CONFIG_SERVER_LINE,
];

/// The shape a primitive returns (or returns an array of).
pub fn shape_of(primitive: &str) -> Option<&'static Shape> {
    all_shapes().find(|s| s.primitives.contains(&primitive))
}

/// HAProxy's own keys that harun's values carry as they are, each with the
/// shape that carries it: `show servers state` and `show stat` columns,
/// `show info` keys, of every supported version.
fn haproxy_keys() -> impl Iterator<Item = (&'static str, &'static str)> + Clone {
    SERVERS_STATE_COLUMNS
        .iter()
        .map(|c| (*c, SERVERS_ROW.what))
        .chain(
            STAT_COLUMNS
                .iter()
                .chain(STAT_COLUMNS_NEWER)
                .map(|c| (*c, STAT_ROW.what)),
        )
        .chain(INFO_KEYS.iter().map(|c| (*c, INFO.what)))
}

/// Every key a value harun returns can have: the documented keys of every
/// shape and HAProxy's own columns and keys (see [`haproxy_keys`]).
pub fn known_keys() -> std::collections::BTreeSet<&'static str> {
    all_shapes()
        .flat_map(|s| s.keys.iter().map(|k| k.name))
        .chain(haproxy_keys().map(|(k, _)| k))
        .chain(HEADER_WORDS.iter().copied())
        .collect()
}

/// HTTP response header names of one word, lowercased, as the keys of a
/// probe's `headers` map (`p.headers.date`, `p.headers.etag`): a header
/// name is a key harun returns, however close to a column (`rate`, `tag`).
/// Headers with a dash are read with `h["x-served-by"]` and need no entry.
const HEADER_WORDS: &[&str] = &[
    "accept",
    "age",
    "allow",
    "authorization",
    "connection",
    "cookie",
    "date",
    "digest",
    "etag",
    "expect",
    "expires",
    "forwarded",
    "from",
    "host",
    "link",
    "location",
    "origin",
    "pragma",
    "priority",
    "range",
    "refresh",
    "server",
    "status",
    "te",
    "trailer",
    "upgrade",
    "vary",
    "via",
    "warning",
];

/// For a key read on a map of unknown origin: the documented keys close to
/// it, each with the shape it belongs to.
pub fn suggest_any(missing: &str) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    let all = all_shapes()
        .flat_map(|s| s.keys.iter().map(move |k| (k.name, s.what)))
        .chain(haproxy_keys());
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
        for s in all_shapes() {
            let mut names: Vec<_> = s.keys.iter().map(|k| k.name).collect();
            names.sort();
            let n = names.len();
            names.dedup();
            assert_eq!(n, names.len(), "{}", s.what);
        }
    }

    #[test]
    fn shapes_are_named_once_and_nested_where_their_parent_says() {
        let mut whats: Vec<&str> = all_shapes().map(|s| s.what).collect();
        whats.sort();
        let n = whats.len();
        whats.dedup();
        assert_eq!(n, whats.len(), "two shapes share a `what`");
        let listed = |s: &Shape| all_shapes().any(|a| a.what == s.what);
        for n in NESTED {
            assert!(
                listed(n.parent) && listed(n.shape),
                "{} / {}",
                n.parent.what,
                n.key
            );
            if n.key == "*" {
                assert!(
                    n.parent.open.is_some(),
                    "{}: `*` needs an open map",
                    n.parent.what
                );
            } else {
                let key = n.parent.keys.iter().find(|k| k.name == n.key);
                let key = key.unwrap_or_else(|| panic!("{} has no key `{}`", n.parent.what, n.key));
                assert!(
                    key.ty.contains("map") || key.ty.contains("finding"),
                    "{}.{} is a {}, not a map",
                    n.parent.what,
                    n.key,
                    key.ty
                );
            }
        }
        // A shape no primitive returns is only reachable inside another one.
        for s in all_shapes().filter(|s| s.primitives.is_empty()) {
            assert!(
                NESTED.iter().any(|n| n.shape.what == s.what),
                "{} is returned by no primitive and nested in no shape",
                s.what
            );
        }
    }

    #[test]
    fn each_primitive_has_one_shape() {
        let mut names: Vec<&str> = all_shapes()
            .flat_map(|s| s.primitives.iter().copied())
            .collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len(), "a primitive is listed in two shapes");
    }
}
