//! Host probes (irqbalance, CPUs) and logging (rsyslog, syslog listener).

pub mod access;
pub mod envelope;
pub mod host;
pub mod logging;
pub mod rsyslog;
pub mod syslog;

use crate::base::report::Severity;
use serde::Serialize;

/// Documentation of one finding id this module emits (used to generate docs/findings.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FindingDoc {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    pub meaning: &'static str,
    pub fix: &'static str,
}

/// Every finding id emitted by `crate::system`, with its default severity.
pub fn finding_docs() -> &'static [FindingDoc] {
    FINDING_DOCS
}

static FINDING_DOCS: &[FindingDoc] = &[
    FindingDoc {
        id: "system.irqbalance",
        severity: Severity::Warning,
        title: "irqbalance is running on a multi-core HAProxy host",
        meaning:
            "HAProxy runs several processes (nbproc > 1, HAProxy <= 2.4) or pins threads with \
                  cpu-map while irqbalance runs: irqbalance moves NIC interrupts onto the cores \
                  HAProxy is pinned to, causing latency spikes and uneven load.",
        fix: "`systemctl stop irqbalance && systemctl disable irqbalance` (sysvinit: \
              `service irqbalance stop` and `ENABLED=0` in /etc/default/irqbalance), then pin \
              NIC IRQs away from HAProxy's cores with `/proc/irq/N/smp_affinity`.",
    },
    FindingDoc {
        id: "logs.ok",
        severity: Severity::Ok,
        title: "HAProxy logs reach a local receiver",
        meaning: "A log target points at a UDP input or unix socket that the local rsyslog \
                  configuration provides (including /dev/log inside the chroot via \
                  $AddUnixListenSocket), or at the system /dev/log without chroot.",
        fix: "Nothing to do.",
    },
    FindingDoc {
        id: "logs.none",
        severity: Severity::Warning,
        title: "HAProxy has no log target",
        meaning: "No `log` line with an address was found (or only `log global` with nothing in \
                  `global`): no traffic logs are produced at all.",
        fix: "Add `log 127.0.0.1:514 local0` (or `log /dev/log local0`) to `global`, \
              `log global` + `option httplog` to `defaults`, then `systemctl reload haproxy`.",
    },
    FindingDoc {
        id: "logs.no-udp-input",
        severity: Severity::Warning,
        title: "HAProxy sends logs to local UDP but rsyslog has no UDP input",
        meaning: "HAProxy sends syslog datagrams to a local address, but no rsyslog \
                  configuration file opens an imudp input: every log line is silently dropped.",
        fix: "Add `module(load=\"imudp\")` and `input(type=\"imudp\" address=\"127.0.0.1\" \
              port=\"514\")` (legacy: `$ModLoad imudp`, `$UDPServerAddress 127.0.0.1`, \
              `$UDPServerRun 514`) to /etc/rsyslog.d/49-haproxy.conf, then \
              `systemctl restart rsyslog` (and `systemctl reload haproxy` if haproxy.cfg changed).",
    },
    FindingDoc {
        id: "logs.port-mismatch",
        severity: Severity::Warning,
        title: "rsyslog listens on UDP, but not where HAProxy sends",
        meaning: "rsyslog has imudp inputs, but none on the address/port of HAProxy's log target \
                  (e.g. HAProxy sends to 127.0.0.1:5140, rsyslog listens on 514, or rsyslog binds \
                  127.0.0.1 while HAProxy sends to the host's LAN address).",
        fix: "Make both sides agree: change the `log` line in haproxy.cfg or add a matching \
              `input(type=\"imudp\" ...)`; restart rsyslog / reload haproxy accordingly.",
    },
    FindingDoc {
        id: "logs.imudp-not-loaded",
        severity: Severity::Warning,
        title: "rsyslog declares a UDP input without loading imudp",
        meaning:
            "An `input(type=\"imudp\")` or `$UDPServerRun` exists but no `module(load=\"imudp\")` \
                  / `$ModLoad imudp`: rsyslogd rejects the input and listens on nothing.",
        fix: "Add `module(load=\"imudp\")` (or `$ModLoad imudp`) before the input, then \
              `systemctl restart rsyslog`; check with `ss -ulpn 'sport = :514'`.",
    },
    FindingDoc {
        id: "logs.chroot-socket",
        severity: Severity::Warning,
        title: "Chrooted HAProxy logs to a unix socket nobody creates inside the chroot",
        meaning: "With `chroot /var/lib/haproxy`, `log /dev/log` writes to \
                  /var/lib/haproxy/dev/log; unless rsyslog creates that socket the logs are \
                  silently lost.",
        fix: "Add `$AddUnixListenSocket /var/lib/haproxy/dev/log` (or `input(type=\"imuxsock\" \
              Socket=\"/var/lib/haproxy/dev/log\")`) to /etc/rsyslog.d/49-haproxy.conf and \
              `systemctl restart rsyslog`; or log to `127.0.0.1` over UDP instead.",
    },
    FindingDoc {
        id: "logs.unix-socket-unknown",
        severity: Severity::Info,
        title: "HAProxy logs to a unix socket the rsyslog configuration does not mention",
        meaning: "The socket may be provided by another daemon (journald, syslog-ng, a sidecar); \
                  harun cannot tell from the rsyslog configuration.",
        fix: "Check it exists and who owns it: `ls -l <path>` and `ss -xlp | grep <path>`.",
    },
    FindingDoc {
        id: "logs.stdout",
        severity: Severity::Info,
        title: "HAProxy logs to stdout/stderr",
        meaning: "Fine under systemd (journald collects it) or in a container; lost when HAProxy \
                  daemonizes (`daemon` / `-D`) since stdio then points to /dev/null.",
        fix: "Use `format raw` (or `short`) with `log stdout`; read logs with \
              `journalctl -u haproxy` or the container runtime.",
    },
    FindingDoc {
        id: "logs.fd",
        severity: Severity::Info,
        title: "HAProxy logs to a file descriptor",
        meaning: "`fd@N` logs are written with one writev() per line to whatever the descriptor \
                  points to; harun cannot check where that is.",
        fix: "Make sure the descriptor is open when HAProxy starts (`ls -l /proc/<pid>/fd/N`).",
    },
    FindingDoc {
        id: "logs.ring",
        severity: Severity::Info,
        title: "HAProxy logs to an in-memory ring",
        meaning: "`ring@name` keeps logs in memory (`show events <name>` on the runtime API); \
                  they are lost on reload unless the ring forwards them to a server.",
        fix: "Read them with `echo 'show events <name>' | socat stdio /run/haproxy/admin.sock`.",
    },
    FindingDoc {
        id: "logs.remote",
        severity: Severity::Info,
        title: "HAProxy logs to a remote syslog host",
        meaning: "Logs go over the network to another host (UDP by default): not checked from \
                  here, and UDP drops silently when the collector is down or firewalled.",
        fix: "Check on the collector; from this host: `tcpdump -ni any udp port 514`.",
    },
    FindingDoc {
        id: "logs.flowing",
        severity: Severity::Ok,
        title: "HAProxy log lines received (enable_logs -p verify=true)",
        meaning: "harun's UDP listener received HAProxy log lines while verifying: logs flow \
                  from HAProxy to this address.",
        fix: "Nothing to do.",
    },
    FindingDoc {
        id: "logs.silent",
        severity: Severity::Warning,
        title: "No HAProxy log line arrived while verifying",
        meaning: "harun listened on the verification address and received no syslog line: \
                  HAProxy has no `log` line pointing there, the datagrams are filtered, or no \
                  request ended during the window (HAProxy logs a request when it completes).",
        fix: "Add `log <listen address> local0` to global and `log global` + `option httplog` \
              to defaults, `systemctl reload haproxy`, send a request, and run \
              `harun enable_logs -p verify=true -p listen=<address>` again.",
    },
    FindingDoc {
        id: "logs.tcp",
        severity: Severity::Info,
        title: "HAProxy logs over TCP",
        meaning: "`tcp@` log targets go through an implicit ring (HAProxy >= 2.9 style); \
                  rsyslog's imtcp inputs are not checked by harun.",
        fix: "Check the collector listens: `ss -tlpn 'sport = :<port>'`.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_docs_are_unique_and_complete() {
        let mut ids: Vec<_> = finding_docs().iter().map(|d| d.id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(n, ids.len(), "duplicate finding ids");
        for d in finding_docs() {
            assert!(!d.meaning.is_empty() && !d.fix.is_empty() && !d.title.is_empty());
        }
    }
}
