//! What a replay reads from its bundle where a live run asks the host: the
//! configuration files (parsed under the names they had on the host, so
//! findings point at the same file:line), `haproxy -c`, `haproxy -vv`,
//! irqbalance, the CPUs and rsyslog. Today's host would be a wrong fact in a
//! post-mortem: what the bundle lacks is `not_recorded`, never read here.

use super::ctx::Ctx;
use crate::base::error::Error;
use crate::config::check::Checked;
use crate::config::model::read_config_file;
use crate::config::{parse_config, CheckResult, ConfigError, ConfigModel};
use crate::runtime::replay::{store::static_kind, Bundle};
use crate::system::host::{CpuInfo, IrqbalanceStatus};
use crate::system::rsyslog::RsyslogSetup;
use std::path::PathBuf;

/// What `host.json` holds: the host probes of the day.
#[derive(Debug, serde::Deserialize)]
pub(super) struct HostFacts {
    pub irqbalance: IrqbalanceStatus,
    pub cpus: CpuInfo,
    pub rsyslog: RsyslogSetup,
}

/// The bundle, when this run replays one and `paths` is the configuration
/// it recorded (an explicit other path is a file the user names today).
pub(super) fn bundle_for<'a>(ctx: &'a Ctx, paths: &[PathBuf]) -> Option<&'a Bundle> {
    ctx.replay()
        .filter(|_| paths == ctx.settings.config_paths.as_slice())
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
    let mut model = ConfigModel::default();
    for (original, copy) in files {
        let text = read_config_file(copy)?;
        let part = parse_config(&text, original);
        model.files.extend(part.files);
        model.sections.extend(part.sections);
        model.notes.extend(part.notes);
    }
    Ok(model)
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
