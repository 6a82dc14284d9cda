//! The finding ids the `analyze_logs` playbook raises from a log summary (`traffic.*`), for
//! docs/findings.md. `traffic`, not `logs`: the `logs.*` ids are about whether logging works
//! at all (enable_logs); these are about what the logged traffic shows.

use crate::base::report::Severity;
use crate::system::FindingDoc;

pub fn finding_docs() -> &'static [FindingDoc] {
    DOCS
}

static DOCS: &[FindingDoc] = &[
    FindingDoc {
        id: "traffic.unreadable",
        severity: Severity::Error,
        title: "The log file cannot be read",
        meaning: "The file given with `-p log=` (default /var/log/haproxy.log) is missing, a directory, or not readable by this user. HAProxy may log to the journal only, or not at all.",
        fix: "Pass the right file with `-p log=PATH` (a .gz works; `-` reads stdin: `journalctl -u haproxy -o short | harun analyze_logs -p log=-`); run with sudo or join the `adm` group; `harun enable_logs` checks both sides of logging.",
    },
    FindingDoc {
        id: "traffic.none",
        severity: Severity::Warning,
        title: "No request or session in the log",
        meaning: "Lines were read but none is an HAProxy traffic line (or the filters left none): HAProxy logs without `option httplog`/`tcplog` (only `Connect from` lines), logs elsewhere, or the time window is empty.",
        fix: "Add `log global` and `option httplog` (or `option tcplog`) to defaults or the frontend and reload; check the rsyslog rule writing this file; widen `since`/`until`.",
    },
    FindingDoc {
        id: "traffic.unparsed",
        severity: Severity::Warning,
        title: "Log lines harun does not recognise",
        meaning: "More than 1% of the lines are none of HAProxy's formats that harun knows (httplog, tcplog, clf, default, the custom `log-format` lines of the configuration given with -c), or lines over 64 KiB were skipped. Samples are in the evidence.",
        fix: "Pass the configuration that defines the custom log-format with `-c` (`log_formats()` shows what harun maps and what it cannot), or give the format to `log_summary(path, #{format: \"...\"})`.",
    },
    FindingDoc {
        id: "traffic.5xx",
        severity: Severity::Error,
        title: "A backend answers 5xx (error from 5%, warning from 1%)",
        meaning: "The share of 5xx responses of a backend, with how the failing sessions ended (termination states of 5xx only): `----` means the application answered 5xx itself; `sH--` that `timeout server` struck; `SC--` that a server refused the connection; `sQ--` that the queue timed out.",
        fix: "Follow the dominant termination state: the evidence explains each one and the advice lists what to check (`explain_termination(\"sH--\")` in a playbook).",
    },
    FindingDoc {
        id: "traffic.server-timeout",
        severity: Severity::Error,
        title: "Requests ended on `timeout server` (sH, sD)",
        meaning: "A server did not send its response headers (sH) or data (sD) within `timeout server`. The evidence names the timeout with its file:line (when -c is readable) and each server's timeouts, p99 and max response time.",
        fix: "Find why the slowest server is slow (application, database, saturation); raising `timeout server` only makes clients wait longer.",
    },
    FindingDoc {
        id: "traffic.connect-refused",
        severity: Severity::Error,
        title: "Servers refused connections (SC)",
        meaning: "HAProxy's connection to a server got a reset or an ICMP error: nothing listens there (application down or restarting), or a firewall rejects it. The evidence gives each server's count and its state now when a socket answers.",
        fix: "Check the server is up and reachable from the load balancer (`nc -vz ip port`); add `check` to its `server` line so HAProxy takes it out of rotation when it dies.",
    },
    FindingDoc {
        id: "traffic.connect-timeout",
        severity: Severity::Warning,
        title: "Connections to servers timed out (sC)",
        meaning: "`timeout connect` struck before the server accepted the connection: accept backlog full, server overloaded, or packets lost on the way.",
        fix: "Check the server's load and listen backlog and the network path; the evidence names `timeout connect` with its file:line.",
    },
    FindingDoc {
        id: "traffic.queue",
        severity: Severity::Warning,
        title: "Requests waited in queues (Tw p90 >= 100 ms, or sQ/CQ)",
        meaning: "Every server of the backend was at its maxconn, so requests waited for a connection slot; past `timeout queue` they got a 503 (sQ), or the client gave up (CQ). The evidence has Tw percentiles, `timeout queue` and each server's maxconn with their file:line.",
        fix: "`harun inspect_queues` shows the queues now; raise maxconn where the servers can take more, add servers, or fix slow responses (Tr) that keep slots busy.",
    },
    FindingDoc {
        id: "traffic.retries",
        severity: Severity::Warning,
        title: "Connection retries or redispatches on a backend (>= 1% of requests)",
        meaning: "HAProxy had to retry connections to servers (and sent some requests to another server with `option redispatch`): a flapping or overloaded server that health checks do not catch.",
        fix: "Look at the servers named in the evidence for refused or slow connections, and at their health checks.",
    },
    FindingDoc {
        id: "traffic.proxy-blocked",
        severity: Severity::Warning,
        title: "HAProxy blocked requests or responses (P*, >= 1%)",
        meaning: "Invalid HTTP requests (PR, 400) or responses (PH, 502), deny rules (PR, 403), invalid chunked encoding (PD), or the process socket limit (PC).",
        fix: "`show errors` on the runtime API shows the last invalid request and response with the offending byte; check deny rules and global maxconn for PC.",
    },
    FindingDoc {
        id: "traffic.resource",
        severity: Severity::Critical,
        title: "Sessions ended on an exhausted resource or an internal error (R*, I*)",
        meaning: "HAProxy ran out of memory, sockets or source ports (R), or detected an internal error (I): a serious anomaly that breaks requests at random.",
        fix: "Read the system log for the same minutes; check `ulimit -n`, `net.ipv4.ip_local_port_range` and memory; report I* states to HAProxy with the log lines.",
    },
    FindingDoc {
        id: "traffic.client-aborts",
        severity: Severity::Info,
        title: "Clients ended many sessions (>= 5%: CD, CH, CQ, cD, CR, cR, CC)",
        meaning: "Clients closed or timed out before the end. A few are normal (closed tabs, pre-connecting browsers); many point to slow responses (CH, CQ) or a broken client-side network (cD).",
        fix: "Compare with Tr/Ta percentiles; `option http-ignore-probes` hides pre-connect probes (CR/cR).",
    },
    FindingDoc {
        id: "traffic.slow-server",
        severity: Severity::Warning,
        title: "One server answers much slower than its peers",
        meaning: "A server's p99 response time (Tr) is at least 500 ms and three times the median of the backend's servers.",
        fix: "Compare it with its peers (load, deployed version, the database it uses); lower its weight meanwhile (`set_weight(\"bk/srv\", \"50%\")`).",
    },
    FindingDoc {
        id: "traffic.server-down",
        severity: Severity::Warning,
        title: "HAProxy logged servers going DOWN or backends without a server",
        meaning: "HAProxy's own notices in the same log: health checks took servers out (`Server bk/s is DOWN`) or a backend had none left (`backend X has no server available!`). The last ones are in the evidence.",
        fix: "`harun troubleshoot` shows each server's state and last check now.",
    },
    FindingDoc {
        id: "traffic.onset",
        severity: Severity::Info,
        title: "When the 5xx started",
        meaning: "The first time bucket (1 minute, wider for logs spanning days) with at least 5% 5xx after buckets without: when the incident began.",
        fix: "Look for what changed then: a deploy, a reload, a dependency failing.",
    },
    FindingDoc {
        id: "traffic.ok",
        severity: Severity::Ok,
        title: "Nothing in the traffic worth a finding",
        meaning: "No backend with 5xx, server timeouts, refused connections, queues, retries or blocked requests over the thresholds.",
        fix: "Nothing to do.",
    },
];
