//! What a replay reads from its bundle where a live run asks the host: the
//! configuration files (parsed under the names they had on the host, so
//! findings point at the same file:line), `haproxy -c`, `haproxy -vv`,
//! irqbalance, the CPUs and rsyslog. Today's host would be a wrong fact in a
//! post-mortem: what the bundle lacks is `not_recorded`, never read here.

use super::ctx::Ctx;
use crate::base::error::Error;
use crate::config::check::Checked;
use crate::config::{CheckResult, ConfigError, ConfigModel};
use crate::runtime::replay::{store::static_kind, Bundle};
use crate::system::host::{CpuInfo, IrqbalanceStatus};
use crate::system::rsyslog::RsyslogSetup;
use std::net::IpAddr;
use std::path::PathBuf;

/// What `host.json` holds: the host probes of the day.
#[derive(Debug, serde::Deserialize)]
pub(super) struct HostFacts {
    pub irqbalance: IrqbalanceStatus,
    pub cpus: CpuInfo,
    pub rsyslog: RsyslogSetup,
    /// The addresses of the host's interfaces; bundles taken before
    /// snapshots recorded them have none.
    #[serde(default)]
    pub local_addresses: Option<Vec<IpAddr>>,
}

/// The bundle, when this run replays one and `paths` is the configuration
/// it recorded (an explicit other path is a file the user names today).
pub(super) fn bundle_for<'a>(ctx: &'a Ctx, paths: &[PathBuf]) -> Option<&'a Bundle> {
    ctx.replay()
        .filter(|_| paths == ctx.config_paths().as_slice())
        .map(|b| b.as_ref())
}

/// The configuration as HAProxy read it that day, from the bundle's copies
/// (or, for a snapshot that kept none, the model it saved as `config.json`).
pub(super) fn config(bundle: &Bundle) -> Result<ConfigModel, ConfigError> {
    let files = bundle.config_files();
    if files.is_empty() {
        if let Some(m) = bundle
            .recorded("config()")
            .ok()
            .and_then(|t| serde_json::from_str::<ConfigModel>(&t).ok())
        {
            return Ok(m);
        }
        return Err(ConfigError::NotRecorded {
            path: bundle
                .config_paths()
                .first()
                .cloned()
                .unwrap_or_else(|| PathBuf::from("haproxy.cfg")),
            bundle: bundle.dir().to_path_buf(),
        });
    }
    crate::config::model::load_files(
        files
            .iter()
            .map(|(original, copy)| (original.as_path(), copy.as_path())),
    )
}

/// `haproxy -c` as the snapshot recorded it (`config_check.json`).
pub(super) fn check(bundle: &Bundle) -> Checked {
    let failed = |e: Error| Checked::Failed {
        kind: e.kind(),
        message: e.to_string(),
    };
    let text = match bundle.recorded("haproxy -c") {
        Ok(t) => t,
        Err(e) => return failed(e),
    };
    let bad = |e: String| Checked::Failed {
        kind: "malformed",
        message: format!(
            "{}: the recorded `haproxy -c` does not parse: {e}",
            bundle.dir().join("config_check.json").display()
        ),
    };
    let v: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return bad(e.to_string()),
    };
    if v.get("valid").is_none_or(serde_json::Value::is_null) {
        // haproxy -c could not run on the day: the same answer again.
        return Checked::Failed {
            kind: static_kind(
                v.get("error_kind")
                    .and_then(|k| k.as_str())
                    .unwrap_or("other"),
            ),
            message: format!(
                "{} (recorded by the snapshot)",
                v.get("error")
                    .and_then(|k| k.as_str())
                    .unwrap_or("haproxy -c could not run")
            ),
        };
    }
    match serde_json::from_value::<CheckResult>(v) {
        Ok(r) => Checked::Ran(r),
        Err(e) => bad(e.to_string()),
    }
}

/// The version word of `haproxy -vv` (or of the recorded check).
pub(super) fn haproxy_version(bundle: &Bundle) -> Option<String> {
    if let Some(v) = bundle
        .recorded("haproxy -vv")
        .ok()
        .and_then(|t| crate::config::check::version_of(&t))
    {
        return Some(v);
    }
    match check(bundle) {
        Checked::Ran(r) => r.version,
        Checked::Failed { .. } => None,
    }
}

/// The host probes of the day, or `not_recorded`.
pub(super) fn host(bundle: &Bundle) -> Result<HostFacts, Error> {
    let text = bundle.recorded("host")?;
    serde_json::from_str(&text).map_err(|e| Error::Malformed {
        target: bundle.dir().join("host.json").display().to_string(),
        command: "host".into(),
        detail: e.to_string(),
    })
}

/// The host's addresses on the day, to tell a local syslog target from a
/// remote one; `not_recorded` for a bundle without them (never today's).
pub(super) fn local_addresses(bundle: &Bundle) -> Result<Vec<IpAddr>, Error> {
    host(bundle)?
        .local_addresses
        .ok_or_else(|| Error::NotRecorded {
            bundle: bundle.dir().to_path_buf(),
            what: "the host's network addresses (`local_addresses` in host.json)".into(),
            hint: " (it was taken by an older harun, before snapshots recorded them): whether a `log <address>` line pointed at that host itself is unknown".into(),
        })
}

/// rsyslog as the snapshot read it; a bundle without it is an empty
/// setup with a note, as an unreadable rsyslog configuration is live.
pub(super) fn rsyslog(bundle: &Bundle) -> RsyslogSetup {
    match host(bundle) {
        Ok(h) => h.rsyslog,
        Err(e) => RsyslogSetup {
            notes: vec![format!("rsyslog configuration not read: {e}")],
            ..RsyslogSetup::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A bundle holding only this `host.json`.
    fn bundle(dir: &Path, host: &[u8]) -> Bundle {
        std::fs::write(dir.join("host.json"), host).unwrap();
        std::fs::write(
            dir.join("index.json"),
            r#"{"format":"harun-snapshot","version":2,"targets":[],"files":[{"file":"host.json","command":"host","ok":true}]}"#,
        )
        .unwrap();
        Bundle::open(dir).unwrap()
    }

    const FACTS: &str = r#""irqbalance":{"running":true,"pids":[812]},"cpus":{"online":4,"list":"0-3","source":"sysfs"},"rsyslog":{"files":[],"udp_inputs":[],"imudp_loaded":false,"imuxsock_loaded":true,"unix_sockets":[],"notes":[]}"#;

    #[test]
    fn local_addresses_are_the_snapshots_or_not_recorded() {
        let tmp = tempfile::tempdir().unwrap();
        let b = bundle(
            tmp.path(),
            format!(r#"{{{FACTS},"local_addresses":["127.0.0.1","10.1.2.3","fe80::1"]}}"#)
                .as_bytes(),
        );
        let want: Vec<IpAddr> = ["127.0.0.1", "10.1.2.3", "fe80::1"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert_eq!(local_addresses(&b).unwrap(), want);
        // An older bundle: its other facts replay, the addresses are not recorded.
        let old = tempfile::tempdir().unwrap();
        let b = bundle(old.path(), format!("{{{FACTS}}}").as_bytes());
        assert!(host(&b).unwrap().irqbalance.running);
        let e = local_addresses(&b).unwrap_err();
        assert_eq!(e.kind(), "not_recorded");
        assert!(e.to_string().contains("older harun"), "{e}");
    }

    #[test]
    fn hostile_host_files_are_malformed_naming_the_file() {
        for bytes in [
            &b""[..],
            b"\x00\xff\xfe binary",
            b"{\"irqbalance\":",
            b"[]",
            format!("{{{FACTS},\"local_addresses\":[\"not an address\"]}}").as_bytes(),
            " ".repeat(1 << 20).as_bytes(),
        ] {
            let tmp = tempfile::tempdir().unwrap();
            let b = bundle(tmp.path(), bytes);
            let e = local_addresses(&b).unwrap_err();
            assert_eq!(e.kind(), "malformed", "{e}");
            assert!(e.to_string().contains("host.json"), "{e}");
            assert!(rsyslog(&b).notes[0].contains("host.json"));
        }
    }
}
