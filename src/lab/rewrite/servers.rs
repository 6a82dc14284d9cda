//! The servers a configuration declares (including `server-template` slots)
//! and how their option lists are read.

use crate::config::model::{ConfigModel, Directive, Section};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// Server and `default-server` keywords that take no value (configuration.txt
/// §5.2, 2.6 to 3.2). Every other keyword takes one.
const SERVER_FLAGS: &[&str] = &[
    "agent-check",
    "allow-0rtt",
    "backup",
    "check",
    "check-send-proxy",
    "check-ssl",
    "check-via-socks4",
    "disabled",
    "enabled",
    "force-sslv3",
    "force-tlsv10",
    "force-tlsv11",
    "force-tlsv12",
    "force-tlsv13",
    "no-agent-check",
    "no-backup",
    "no-check",
    "no-check-ssl",
    "no-send-proxy",
    "no-send-proxy-v2",
    "no-send-proxy-v2-ssl",
    "no-send-proxy-v2-ssl-cn",
    "no-ssl",
    "no-ssl-reuse",
    "no-sslv3",
    "no-tfo",
    "no-tls-tickets",
    "no-tlsv10",
    "no-tlsv11",
    "no-tlsv12",
    "no-tlsv13",
    "no-verifyhost",
    "non-stick",
    "send-proxy",
    "send-proxy-v2",
    "send-proxy-v2-ssl",
    "send-proxy-v2-ssl-cn",
    "ssl",
    "ssl-reuse",
    "stick",
    "strict-maxconn",
    "tfo",
    "tls-tickets",
];

/// Bind (and `stats socket`) keywords that take no value.
const BIND_FLAGS: &[&str] = &[
    "accept-proxy",
    "allow-0rtt",
    "defer-accept",
    "force-sslv3",
    "force-tlsv10",
    "force-tlsv11",
    "force-tlsv12",
    "force-tlsv13",
    "generate-certificates",
    "no-alpn",
    "no-ca-names",
    "no-sslv3",
    "no-tls-tickets",
    "no-tlsv10",
    "no-tlsv11",
    "no-tlsv12",
    "no-tlsv13",
    "prefer-client-ciphers",
    "quic-force-retry",
    "ssl",
    "strict-sni",
    "tfo",
    "tls-tickets",
    "transparent",
    "v4v6",
    "v6only",
];

/// One option of a server or bind line: the index of its keyword in the
/// directive's arguments and of its value, if it takes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Opt {
    pub at: usize,
    pub value: Option<usize>,
}

fn options(args: &[String], from: usize, flags: &[&str]) -> Vec<Opt> {
    let mut out = Vec::new();
    let mut i = from;
    while i < args.len() {
        if flags.contains(&args[i].as_str()) {
            out.push(Opt { at: i, value: None });
            i += 1;
        } else {
            let value = (i + 1 < args.len()).then_some(i + 1);
            out.push(Opt { at: i, value });
            i += 2;
        }
    }
    out
}

pub(super) fn server_options(args: &[String], from: usize) -> Vec<Opt> {
    options(args, from, SERVER_FLAGS)
}

pub(super) fn bind_options(args: &[String], from: usize) -> Vec<Opt> {
    options(args, from, BIND_FLAGS)
}

/// Where the options of a server-like line start: after `name addr` for
/// `server`, after `prefix range addr` for `server-template`, at once for
/// `default-server`.
pub(super) fn first_option(keyword: &str) -> usize {
    match keyword {
        "server" => 2,
        "server-template" => 3,
        _ => 0,
    }
}

/// A server of a backend or listen section, as the configuration declares it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerInfo {
    pub backend: String,
    pub name: String,
    /// `file:line` of its `server` or `server-template` line.
    pub location: String,
    #[serde(skip)]
    pub file: PathBuf,
    #[serde(skip)]
    pub line: usize,
    /// Health checks are enabled (`check`, here or on a `default-server`).
    pub checked: bool,
    /// `disabled`: the server starts in maintenance.
    pub disabled: bool,
    /// `track <backend/server>`: its state follows that server.
    pub tracks: Option<String>,
    /// A slot of a `server-template`.
    pub template: bool,
    /// `inter`, `fastinter` and `fall`: how long HAProxy takes to see it DOWN.
    #[serde(skip)]
    pub inter: Duration,
    #[serde(skip)]
    pub fastinter: Option<Duration>,
    #[serde(skip)]
    pub fall: u32,
    /// How long a check waits for the answer: `timeout check` when set, else `inter`.
    #[serde(skip)]
    pub check_timeout: Duration,
    /// The line sits under an `.if` block: HAProxy may not create it.
    pub conditional: bool,
}

impl ServerInfo {
    /// `backend/server`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.backend, self.name)
    }

    /// How long HAProxy may take to mark it DOWN once its checks fail: the
    /// first check comes within `inter`, then `fall` failed checks at
    /// `fastinter` (or `inter`).
    pub fn time_to_down(&self) -> Duration {
        self.inter + self.fastinter.unwrap_or(self.inter) * self.fall
    }
}

/// The numbers of a `server-template` slot range: `5` is 1 to 5, `3-7` is 3 to 7.
pub(super) fn template_range(spec: &str) -> Option<std::ops::RangeInclusive<u64>> {
    let (lo, hi) = match spec.split_once('-') {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => (1, spec.parse().ok()?),
    };
    // HAProxy refuses empty ranges; the cap keeps a typo from creating millions.
    (lo >= 1 && hi >= lo && hi - lo < 100_000).then_some(lo..=hi)
}

/// A time value as HAProxy writes them (`2s`, `500ms`, `1m`; a bare number is ms),
/// read by the log parser's reader (overflow-checked); `us` keeps its precision.
pub(super) fn parse_time(v: &str) -> Option<Duration> {
    if let Some(us) = v.strip_suffix("us") {
        return us.parse().ok().map(Duration::from_micros);
    }
    let ms = crate::logs::time::haproxy_time_ms(v)?;
    u64::try_from(ms).ok().map(Duration::from_millis)
}

#[derive(Clone)]
struct CheckSettings {
    checked: bool,
    inter: Duration,
    fastinter: Option<Duration>,
    fall: u32,
}

impl Default for CheckSettings {
    fn default() -> Self {
        // HAProxy's defaults: inter 2s, fall 3.
        CheckSettings {
            checked: false,
            inter: Duration::from_secs(2),
            fastinter: None,
            fall: 3,
        }
    }
}

impl CheckSettings {
    fn apply(&mut self, d: &Directive) {
        let from = first_option(&d.keyword);
        for o in server_options(&d.args, from) {
            let v = o.value.map(|i| d.args[i].as_str());
            match d.args[o.at].as_str() {
                "check" => self.checked = true,
                "no-check" => self.checked = false,
                "inter" => self.inter = v.and_then(parse_time).unwrap_or(self.inter),
                "fastinter" => self.fastinter = v.and_then(parse_time),
                "fall" => self.fall = v.and_then(|v| v.parse().ok()).unwrap_or(self.fall),
                _ => {}
            }
        }
    }
}

/// Every server of every backend and listen section, template slots expanded.
pub fn servers(model: &ConfigModel) -> Vec<ServerInfo> {
    let mut out = Vec::new();
    for section in model.proxies() {
        let Some(backend) = section.name.clone() else {
            continue;
        };
        let mut defaults = CheckSettings::default();
        for d in model.defaults_chain(section) {
            for ds in d.find("default-server") {
                defaults.apply(ds);
            }
        }
        let timeout_check = model
            .effective_last(section, "timeout check")
            .and_then(|d| d.args.get(1))
            .and_then(|v| parse_time(v));
        collect(section, &backend, defaults, timeout_check, &mut out);
    }
    out
}

fn collect(
    section: &Section,
    backend: &str,
    mut defaults: CheckSettings,
    timeout_check: Option<Duration>,
    out: &mut Vec<ServerInfo>,
) {
    for d in &section.directives {
        match d.keyword.as_str() {
            "default-server" => defaults.apply(d),
            "server" | "server-template" => {
                let mut settings = defaults.clone();
                settings.apply(d);
                let from = first_option(&d.keyword);
                let opts = server_options(&d.args, from);
                let has = |k: &str| opts.iter().any(|o| d.args[o.at] == k);
                let tracks = opts
                    .iter()
                    .find(|o| d.args[o.at] == "track")
                    .and_then(|o| o.value.map(|v| d.args[v].clone()));
                let names: Vec<String> = if d.keyword == "server" {
                    d.args.first().cloned().into_iter().collect()
                } else {
                    match (
                        d.args.first(),
                        d.args.get(1).and_then(|r| template_range(r)),
                    ) {
                        (Some(prefix), Some(range)) => {
                            range.map(|i| format!("{prefix}{i}")).collect()
                        }
                        _ => Vec::new(),
                    }
                };
                for name in names {
                    out.push(ServerInfo {
                        backend: backend.to_string(),
                        name,
                        location: d.location(),
                        file: d.file.clone(),
                        line: d.line,
                        checked: settings.checked,
                        disabled: has("disabled"),
                        tracks: tracks.clone(),
                        template: d.keyword == "server-template",
                        inter: settings.inter,
                        fastinter: settings.fastinter,
                        fall: settings.fall,
                        check_timeout: timeout_check.unwrap_or(settings.inter),
                        conditional: d.condition.is_some() || section.condition.is_some(),
                    });
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::parse_config;
    use std::path::Path;

    #[test]
    fn templates_defaults_and_check_timings() {
        let m = parse_config(
            "defaults\n  default-server inter 1s fall 2 check\nbackend bk\n  server a 10.0.0.1:80 no-check\n  default-server inter 500ms\n  server b 10.0.0.2:80 fastinter 100ms disabled\n  server-template t 2-3 svc.local:80 track bk/b\nlisten l\n  server c 10.0.0.3:80\n",
            Path::new("t.cfg"),
        );
        let s = servers(&m);
        let ids: Vec<_> = s.iter().map(ServerInfo::id).collect();
        assert_eq!(ids, ["bk/a", "bk/b", "bk/t2", "bk/t3", "l/c"]);
        assert!(!s[0].checked);
        assert!(s[1].checked && s[1].disabled);
        assert_eq!(s[1].inter, Duration::from_millis(500));
        assert_eq!(s[1].time_to_down(), Duration::from_millis(700));
        assert_eq!(s[2].tracks.as_deref(), Some("bk/b"));
        assert!(s[2].template && s[3].template);
        assert_eq!(s[2].location, "t.cfg:7");
        assert!(s[4].checked);
        assert_eq!(s[4].inter, Duration::from_secs(1));
        assert_eq!(s[4].check_timeout, Duration::from_secs(1));
        let m = parse_config(
            "defaults\n  timeout check 3s\nbackend b\n  server a 10.0.0.1:80 check\n",
            Path::new("t.cfg"),
        );
        assert_eq!(servers(&m)[0].check_timeout, Duration::from_secs(3));
    }

    #[test]
    fn option_walk_and_times() {
        let args: Vec<String> = "s 1.2.3.4:80 check ssl verify required ca-file /x inter 2s"
            .split(' ')
            .map(String::from)
            .collect();
        let opts = server_options(&args, 2);
        let kws: Vec<_> = opts.iter().map(|o| args[o.at].as_str()).collect();
        assert_eq!(kws, ["check", "ssl", "verify", "ca-file", "inter"]);
        assert_eq!(opts[2].value, Some(5));
        assert_eq!(parse_time("1500"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_time("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_time("x"), None);
        // Overflow is no value, not a panic (debug) or a wrapped one (release).
        assert_eq!(parse_time("300000000000000d"), None);
        assert_eq!(template_range("3"), Some(1..=3));
        assert_eq!(template_range("4-6"), Some(4..=6));
        assert_eq!(template_range("6-4"), None);
    }
}
