//! Finding ids raised outside the rule modules: by the runtime primitives
//! (`target.unreachable`, `drain.timeout`) and by the shipped playbooks. The
//! rule modules document their own (`config::rule_docs`,
//! `system::finding_docs`, `health::finding_docs`); docs/findings.md joins them.

use crate::base::report::Severity;
use crate::system::FindingDoc;

/// Every finding id documented here.
pub fn finding_docs() -> &'static [FindingDoc] {
    FINDING_DOCS
}

static FINDING_DOCS: &[FindingDoc] = &[
    FindingDoc {
        id: "target.unreachable",
        severity: Severity::Error,
        title: "One of several HAProxy sockets did not answer",
        meaning: "With several targets (-s repeated, or one socket per process), a command failed on this one: results leave it out. When every target fails the run stops with exit code 3 instead. A target that answers that it has no such backend or server did answer: that is never this finding (see `fleet.disagreement`, and `no_such_backend` when no target has the name).",
        fix: "Check that this HAProxy process runs and that the socket path or address matches a `stats socket` line; `ls -l` the socket for permissions.",
    },
    FindingDoc {
        id: "target.error",
        severity: Severity::Error,
        title: "One of several HAProxy sockets answered a command with an error",
        meaning: "With several targets, this one answered, but with an error rather than a result: `Permission denied` (an operator- or user-level socket), `Unknown command` (an older HAProxy), or another HAProxy error. Results leave it out. A target that has no such backend or server is not this finding (see `fleet.disagreement`).",
        fix: "Read the detail: give harun an admin-level socket (`stats socket ... level admin`), or leave out the command this HAProxy version lacks.",
    },
    FindingDoc {
        id: "config.source",
        severity: Severity::Info,
        title: "Which configuration files were read, when no -c was given",
        meaning: "Without -c (or HARUN_CONFIG) and with one local socket, harun reads the configuration of the HAProxy behind it: the `-f` arguments of its command line (the `Pid` of `show info`, /proc/PID/cmdline; a master-worker's paths from the master's directory), files or directories in order. Info when they were found; a warning when they could not be (another pid namespace, a chroot, permissions, no answer) and the default /etc/haproxy/haproxy.cfg was read instead, which may not be what that process runs.",
        fix: "Nothing when the files are the right ones; otherwise pass them with -c PATH (repeat it in haproxy's -f order).",
    },
    FindingDoc {
        id: "process.unreachable",
        severity: Severity::Critical,
        title: "HAProxy's runtime API does not answer (troubleshoot)",
        meaning: "No target answered `show info`: HAProxy is down, restarting, or the socket is not where harun looks. troubleshoot still runs the offline checks (config, logs, system) and exits 3.",
        fix: "`systemctl status haproxy` and `journalctl -u haproxy -n 50`; check the socket path and permissions against the `stats socket` line (-s ADDR, HARUN_SOCKET).",
    },
    FindingDoc {
        id: "process.no-socket",
        severity: Severity::Critical,
        title: "No HAProxy runtime socket to check (troubleshoot)",
        meaning: "No socket was given (-s, HARUN_SOCKET), the configuration has no `stats socket` line, and neither /run/haproxy/admin.sock nor /var/run/haproxy/admin.sock exists: the live process could not be checked. troubleshoot still runs the offline checks and exits 2.",
        fix: "Pass the socket with `-s ADDR`; if HAProxy has none, add `stats socket /run/haproxy/admin.sock mode 660 level admin` to `global` and reload HAProxy.",
    },
    FindingDoc {
        id: "process.old-worker",
        severity: Severity::Warning,
        title: "An old worker is still alive after a reload (troubleshoot, master CLI)",
        meaning: "The master CLI (`-s master@PATH`) lists a worker of an earlier configuration: after a reload it keeps serving its open connections (long downloads, WebSockets, idle keep-alives) on the old configuration and the old server states, while the current worker takes the new ones. Writes through the current worker's socket do not reach it; several reloads pile old workers up, each with its memory.",
        fix: "Let it finish, or bound it with `hard-stop-after` in `global`; see its sessions with `@!PID show sess` on the master CLI; `processes()` lists each with its age and sessions.",
    },
    FindingDoc {
        id: "system.unreadable",
        severity: Severity::Error,
        title: "The host's CPUs and irqbalance could not be read over SSH (troubleshoot)",
        meaning: "The target is on another host (`ssh://`, an inventory host) and the host checks run there over the same SSH connection as the admin socket; the login or a command on that host failed, so irqbalance and the CPUs of that host are unknown (this machine's would be a wrong answer).",
        fix: "Check the login by hand with the same user, key and ssh config (`ssh -F CONFIG HOST true`); the admin socket's `target.unreachable` error names the cause when the login itself failed.",
    },
    FindingDoc {
        id: "fleet.disagreement",
        severity: Severity::Warning,
        title: "Targets disagree about a backend or server (several targets: troubleshoot, a read of one name some lack)",
        meaning: "With several targets (-s repeated, an inventory, a master CLI's workers), they say different things about the same backend or server: present on some only, in maintenance or drain on some only, another weight, another operational state or health check status. A read of one backend or server (`stat(NAME)`, `servers(NAME)`, `queue_check(#{backend: NAME})`, `send(\"get weight BK/SRV\")`...) that some targets answer with `No such backend` (or server) returns the rows of the targets that have it and raises this finding, `NAME: present differs: on lb1; not on lb2`, once per run, its detail with each missing target's error and the nearest names it has; when no target has the name the read fails with `no_such_backend` (or `no_such_server`), exit 2, as on one target. Each HAProxy process and host keeps its own server states: a drain done through one socket leaves the others sending traffic (the multi-process trap, one level up), and a configuration reloaded on some hosts only serves another set of servers. A check that is changing state right now (`UP 1/3`) and a server in maintenance are left out of the state and check comparisons, so the finding is not the noise of checks in transition.",
        fix: "Repeat a runtime change on every target: give harun every socket (-s repeated, -i INVENTORY, master@PATH) and a write goes to each, through the journal. For configurations that differ, compare the files and reload the hosts that lag. For a server one host sees DOWN, test it from that host as its check does. `disagreements()` lists each difference with each target's value (troubleshoot shows the first 20 and counts the rest).",
    },
    FindingDoc {
        id: "drain.timeout",
        severity: Severity::Error,
        title: "Drain timed out: the server is left in drain",
        meaning: "Sessions or queued requests were still on the server when the drain timeout expired; the server is left in drain, not in maintenance.",
        fix: "Wait longer (a larger `timeout`), find the long-lived connections (`show sess`), or cut them with `shutdown_sessions(\"BK/SRV\")` if that is acceptable.",
    },
    FindingDoc {
        id: "drain.done",
        severity: Severity::Ok,
        title: "Server drained (drain_server)",
        meaning: "No session and no queued request left; the server is in drain, or in maintenance with `-p then=maint`.",
        fix: "Nothing to do; put it back with `set_state(\"BK/SRV\", \"ready\")` when the work is done.",
    },
    FindingDoc {
        id: "drain.dry-run",
        severity: Severity::Info,
        title: "Dry run: nothing was drained (drain_server)",
        meaning: "--dry-run: the runtime commands a real run would send are listed as evidence; none was sent.",
        fix: "Run again without --dry-run.",
    },
    FindingDoc {
        id: "drain.reverted",
        severity: Severity::Error,
        title: "Server came back in rotation while draining (drain_server)",
        meaning: "The drain (or maint) flag disappeared from the admin mask during the wait: another operator, a script or automation set the server ready, or HAProxy reloaded and the new process started from the configuration's states (each poll checks `Stopping` in `show info` and follows the new process).",
        fix: "Find out who changed it (`harun journal`, other operators, orchestration) before draining again. For reloads: `server-state-file` in global and `load-server-state-from-file global` in defaults, and save `show servers state` to that file before each reload.",
    },
];
