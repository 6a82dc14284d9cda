//! A lab from the user's own configuration: load it, rewrite it
//! ([`super::rewrite`]), have `haproxy -c` accept the copy, and only then
//! start the responders and haproxy.

use super::rewrite::{self, Resources, Rewritten, ServerInfo};
use super::{lab_runtime, refusing_port, serve_on, spawn_haproxy, Behaviour, Lab, LabBuilder};
use crate::base::error::{Error, Result};
use crate::config::check::{run_check, CheckError, CheckResult};
use crate::config::model::{load_config, read_config_file, ConfigModel};
use crate::runtime::Command;
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener as StdListener, UdpSocket};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Up to this many servers, each has a responder (a listening socket) of its
/// own; beyond, healthy servers share one per backend. A process often may
/// open only 1,024 files.
const MAX_OWN_RESPONDERS: usize = 500;

/// What a responder does, by `backend/server`.
#[derive(Default)]
struct Plan {
    down: Vec<String>,
    slow: HashMap<String, Duration>,
}

/// The lab side of a rewrite: real ports, listeners bound now and served once
/// `haproxy -c` has accepted the copy.
struct LabResources {
    dir: PathBuf,
    plan: Plan,
    /// Too many servers for one listener each: healthy servers of a backend
    /// share one responder.
    share_healthy: bool,
    shared: HashMap<String, SocketAddr>,
    listeners: Vec<(StdListener, Behaviour, String)>,
    reserved: Vec<OwnedFd>,
    refusing: Option<SocketAddr>,
    log_to: Option<String>,
    dns: Option<SocketAddr>,
    sinks: Vec<UdpSocket>,
    cwd: PathBuf,
}

fn udp_sink() -> std::result::Result<UdpSocket, String> {
    UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("127.0.0.1:0 (udp): {e}"))
}

impl Resources for LabResources {
    fn dir(&self) -> &Path {
        &self.dir
    }

    fn tcp_port(&mut self) -> std::result::Result<u16, String> {
        super::free_port().map_err(|e| e.to_string())
    }

    fn udp_port(&mut self) -> std::result::Result<u16, String> {
        let s = udp_sink()?;
        s.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
    }

    fn server(
        &mut self,
        backend: &str,
        server: &str,
    ) -> std::result::Result<(SocketAddr, String), String> {
        let id = format!("{backend}/{server}");
        if self.plan.down.contains(&id) {
            let (fd, port) = refusing_port().map_err(|e| e.to_string())?;
            self.reserved.push(fd);
            return Ok((super::loopback(port), "DOWN (refuses connections)".into()));
        }
        if self.share_healthy && !self.plan.slow.contains_key(&id) {
            if let Some(a) = self.shared.get(backend) {
                return Ok((*a, "healthy".into()));
            }
        }
        let (behaviour, how) = match self.plan.slow.get(&id) {
            Some(d) => (
                Behaviour::Slow(*d),
                format!("slow (answers after {})", humantime::format_duration(*d)),
            ),
            None => (Behaviour::Healthy, "healthy".to_string()),
        };
        let l = StdListener::bind("127.0.0.1:0").map_err(|e| format!("127.0.0.1:0: {e}"))?;
        let addr = l.local_addr().map_err(|e| e.to_string())?;
        if self.share_healthy && behaviour == Behaviour::Healthy {
            self.shared.insert(backend.to_string(), addr);
            self.listeners.push((l, behaviour, backend.to_string()));
        } else {
            self.listeners.push((l, behaviour, id));
        }
        Ok((addr, how))
    }

    fn refusing(&mut self) -> std::result::Result<SocketAddr, String> {
        if let Some(a) = self.refusing {
            return Ok(a);
        }
        let (fd, port) = refusing_port().map_err(|e| e.to_string())?;
        self.reserved.push(fd);
        let a = super::loopback(port);
        self.refusing = Some(a);
        Ok(a)
    }

    fn log_target(&mut self) -> std::result::Result<(String, String), String> {
        Ok(match &self.log_to {
            Some(t) => (t.clone(), format!("to {t}, as the lab was asked")),
            // haproxy's stderr is the lab's haproxy.log: the logs stay readable.
            None => ("stderr".into(), "into the lab's haproxy.log".into()),
        })
    }

    fn nameserver(&mut self) -> std::result::Result<SocketAddr, String> {
        if let Some(a) = self.dns {
            return Ok(a);
        }
        let s = udp_sink()?;
        let a = s.local_addr().map_err(|e| e.to_string())?;
        self.sinks.push(s);
        self.dns = Some(a);
        Ok(a)
    }

    fn readable(&self, path: &Path) -> bool {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => std::fs::read_dir(path)
                .map(|rd| {
                    rd.flatten().all(|e| {
                        let p = e.path();
                        !p.is_file() || std::fs::File::open(&p).is_ok()
                    })
                })
                .unwrap_or(false),
            Ok(_) => std::fs::File::open(path).is_ok(),
            Err(_) => false,
        }
    }

    fn read_list(&self, path: &Path) -> Option<String> {
        use std::io::Read;
        let mut text = String::new();
        std::fs::File::open(path)
            .ok()?
            .take(CRT_LIST_MAX)
            .read_to_string(&mut text)
            .ok()?;
        Some(text)
    }

    fn cwd(&self) -> PathBuf {
        self.cwd.clone()
    }

    fn fd_limit(&self) -> Option<u64> {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we pass.
        let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } == 0;
        (ok && r.rlim_max != libc::RLIM_INFINITY).then_some(r.rlim_max)
    }
}

/// The most of a certificate list the lab reads to find its certificates.
const CRT_LIST_MAX: u64 = 4 << 20;

/// `--down`/`--slow` names checked against the configuration's servers.
fn check_names(option: &str, names: &[&str], servers: &[ServerInfo]) -> Result<()> {
    for name in names {
        if servers.iter().any(|s| s.id() == *name) {
            continue;
        }
        let ids: Vec<String> = servers.iter().map(ServerInfo::id).collect();
        let near = crate::base::suggest::best(name, ids.iter().map(String::as_str), |_| true);
        let hint = if let Some(best) = near {
            format!("did you mean `{best}`?")
        } else if ids.is_empty() {
            "the configuration has no servers".to_string()
        } else {
            let shown: Vec<&str> = ids.iter().take(12).map(String::as_str).collect();
            let more = if ids.len() > 12 {
                format!(" and {} more", ids.len() - 12)
            } else {
                String::new()
            };
            format!("its servers are {}{more}", shown.join(", "))
        };
        let shape = if name.contains('/') {
            String::new()
        } else {
            " (write it backend/server)".to_string()
        };
        return Err(Error::Other(format!(
            "{option} `{name}`{shape}: no such server in the configuration; {hint}"
        )));
    }
    Ok(())
}

/// Where the proxy an alert without `file:line` names (`proxy 'bk': ...`,
/// `backend 'bk' ...`) starts in the user's files.
fn proxy_location(model: &ConfigModel, text: &str) -> Option<String> {
    for kind in ["proxy", "backend", "frontend", "listen"] {
        let Some(at) = text.find(&format!("{kind} '")) else {
            continue;
        };
        let rest = &text[at + kind.len() + 2..];
        let name = &rest[..rest.find('\'')?];
        let found = model.sections.iter().find(|s| {
            matches!(s.kind.as_str(), "frontend" | "backend" | "listen")
                && s.name.as_deref() == Some(name)
                && (kind == "proxy" || s.kind == kind || s.kind == "listen")
        });
        if let Some(s) = found {
            return Some(s.location());
        }
    }
    None
}

/// The `haproxy -c` alerts about the lab's copy, named with the user's files.
fn rejected(model: &ConfigModel, r: &Rewritten, check: &CheckResult) -> String {
    let check = r.copy().name_originals(check.clone());
    let mut lines = Vec::new();
    for m in check.alerts() {
        // HAProxy's closing summaries add nothing to the messages before them.
        let summary = m.text.starts_with("Fatal errors found")
            || m.text.starts_with("Error(s) found in configuration file");
        if m.line.is_none() && summary {
            continue;
        }
        let loc = m.location().or_else(|| proxy_location(model, &m.text));
        let mut line = match &loc {
            Some(l) => format!("{l}: {}", m.text),
            None => m.text.clone(),
        };
        let changed: Vec<String> = r
            .rewrites
            .iter()
            .filter(|w| Some(&w.location) == loc.as_ref())
            .map(ToString::to_string)
            .collect();
        if !changed.is_empty() {
            line.push_str(&format!(
                " (the lab changed this line: {})",
                changed.join("; ")
            ));
        }
        lines.push(line);
    }
    if lines.is_empty() {
        lines.push(format!("exit code {}", check.exit_code));
    }
    // What production's Lua defined is unknown without it.
    let lua: Vec<&str> = r
        .rewrites
        .iter()
        .filter(|w| w.why == rewrite::LUA_DROPPED)
        .map(|w| w.location.as_str())
        .collect();
    if !lua.is_empty() {
        lines.push(format!(
            "the lab did not load the Lua scripts of {}: if the configuration uses their actions, services or fetches, --keep-lua runs them (they can then reach any address)",
            lua.join(", ")
        ));
    }
    format!(
        "haproxy -c rejects the configuration: {}",
        lines.join("\n  ")
    )
}

pub(super) fn start(b: LabBuilder) -> Result<Lab> {
    let model = load_config(&b.config).map_err(|e| Error::Other(e.to_string()))?;
    let mut sources = Vec::new();
    for f in &model.files {
        let text = read_config_file(f).map_err(|e| Error::Other(e.to_string()))?;
        sources.push((f.clone(), text));
    }
    let servers = rewrite::servers(&model);
    let down: Vec<&str> = b.down.iter().map(String::as_str).collect();
    let slow: Vec<&str> = b.slow.iter().map(|(s, _)| s.as_str()).collect();
    check_names("--down", &down, &servers)?;
    check_names("--slow", &slow, &servers)?;
    if let Some(both) = down.iter().find(|d| slow.contains(d)) {
        return Err(Error::Other(format!(
            "`{both}` is given to both --down and --slow: a server is one or the other"
        )));
    }

    let dir = tempfile::Builder::new()
        .prefix("harun-lab-")
        .tempdir()
        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
    for sub in ["cfg", "sock", "state", "standin"] {
        let p = dir.path().join(sub);
        std::fs::create_dir_all(&p).map_err(|e| Error::io(&p, e))?;
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let share_healthy = servers.len() > MAX_OWN_RESPONDERS;
    let mut res = LabResources {
        dir: dir.path().to_path_buf(),
        plan: Plan {
            down: b.down.clone(),
            slow: b.slow.iter().cloned().collect(),
        },
        share_healthy,
        shared: HashMap::new(),
        listeners: Vec::new(),
        reserved: Vec::new(),
        refusing: None,
        log_to: b.log_to.clone(),
        dns: None,
        sinks: Vec::new(),
        cwd,
    };
    let mut r = rewrite::rewrite(
        &model,
        &sources,
        &mut res,
        rewrite::Options {
            keep_lua: b.keep_lua,
        },
    )
    .map_err(|e| Error::Other(e.to_string()))?;
    if share_healthy {
        r.rewrites.push(rewrite::Rewrite {
            location: b.config[0].display().to_string(),
            section: "servers".into(),
            kind: rewrite::RewriteKind::Note,
            from: format!("{} servers", servers.len()),
            to: String::new(),
            why: format!(
                "more than {MAX_OWN_RESPONDERS}: the healthy servers of a backend share one responder (one listening socket each would exhaust open files)"
            ),
        });
    }
    for (id, delay) in &b.slow {
        let Some(s) = r.servers.iter().find(|s| s.id() == *id && s.checked) else {
            continue;
        };
        if *delay >= s.check_timeout {
            r.rewrites.push(rewrite::Rewrite {
                location: s.location.clone(),
                section: format!("backend {}", s.backend),
                kind: rewrite::RewriteKind::Note,
                from: format!("--slow {id}={}", humantime::format_duration(*delay)),
                to: String::new(),
                why: format!(
                    "its health checks give up after {} (timeout check, else inter): HAProxy will mark it DOWN",
                    humantime::format_duration(s.check_timeout)
                ),
            });
        }
    }
    for s in r.servers.iter().filter(|s| b.down.contains(&s.id())) {
        let why = if s.disabled {
            "it starts in maintenance (`disabled`) anyway".to_string()
        } else if let Some(t) = &s.tracks {
            format!("it tracks {t}: HAProxy shows that server's state, its own responder only refuses traffic")
        } else if !s.checked {
            "it has no `check`: HAProxy keeps it UP and requests to it fail".to_string()
        } else {
            continue;
        };
        r.rewrites.push(rewrite::Rewrite {
            location: s.location.clone(),
            section: format!("backend {}", s.backend),
            kind: rewrite::RewriteKind::Note,
            from: format!("--down {}", s.id()),
            to: String::new(),
            why,
        });
    }
    for name in down.iter().chain(&slow) {
        if r.internal.iter().any(|i| i == name) {
            return Err(Error::Other(format!(
                "`{name}` points at a listener of this same configuration, not at an application server: --down and --slow apply to the servers harun stands in for"
            )));
        }
    }
    for f in r.prelude.iter().chain(&r.files).chain(r.additions.iter()) {
        std::fs::write(&f.path, &f.text).map_err(|e| Error::io(&f.path, e))?;
    }
    for s in &r.standins {
        std::fs::write(&s.path, &s.contents).map_err(|e| Error::io(&s.path, e))?;
    }
    let paths = r.config_paths();
    let check =
        run_check(&b.haproxy_bin, &paths, Duration::from_secs(30)).map_err(|e| match e {
            CheckError::BinaryNotFound { .. } => Error::Other(format!(
                "`{}` not found: {}",
                b.haproxy_bin.display(),
                Lab::install_hint()
            )),
            e => Error::Other(e.to_string()),
        })?;
    if !check.valid {
        return Err(Error::Other(rejected(&model, &r, &check)));
    }

    let rt = lab_runtime()?;
    for (l, behaviour, name) in std::mem::take(&mut res.listeners) {
        serve_on(&rt.handle, l, behaviour, &name)?;
    }
    let master_socket = b.master.then(|| dir.path().join("master.sock"));
    let child = spawn_haproxy(&b.haproxy_bin, &paths, dir.path(), master_socket.as_deref())?;
    let frontend = r
        .binds
        .iter()
        .filter(|m| m.section.starts_with("frontend") || m.section.starts_with("listen"))
        .chain(r.binds.iter())
        .find_map(|m| m.tcp)
        .unwrap_or_else(|| super::loopback(0));
    // Servers HAProxy will mark DOWN on its own: checked, not in maintenance,
    // not following another server.
    // A slow server whose checks give up before it answers goes DOWN too: the
    // lab is ready once HAProxy sees it so, as production would.
    let slow_down = |s: &ServerInfo| {
        b.slow
            .iter()
            .any(|(id, d)| *id == s.id() && *d >= s.check_timeout)
    };
    let settle: Vec<&ServerInfo> = r
        .servers
        .iter()
        .filter(|s| b.down.contains(&s.id()) || slow_down(s))
        .filter(|s| s.checked && !s.disabled && s.tracks.is_none())
        .collect();
    let limit = settle
        .iter()
        .map(|s| s.time_to_down() + s.check_timeout)
        .max()
        .unwrap_or_default()
        .saturating_add(Duration::from_secs(10))
        .clamp(Duration::from_secs(15), Duration::from_secs(300));
    let settle: Vec<(String, String)> = settle
        .iter()
        .map(|s| (s.backend.clone(), s.name.clone()))
        .collect();
    let prepare = r
        .template_addrs
        .iter()
        .map(|(bk, s, a)| {
            Command::raw(&format!(
                "set server {bk}/{s} addr {} port {}",
                a.ip(),
                a.port()
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut lab = Lab {
        dir,
        child: Some(child),
        admin_socket: r.admin_socket.clone(),
        master_socket,
        operator_socket: None,
        tcp_socket: None,
        frontend,
        config_paths: paths,
        user_config: b.config.clone(),
        config_copy: Some(r.copy()),
        scenario: b.scenario,
        shutdown: Some(rt.shutdown),
        thread: Some(rt.thread),
        rt_handle: rt.handle,
        _reserved: res.reserved,
        _sinks: res.sinks,
        rewrites: r.rewrites,
        binds: r.binds,
        servers: r.servers,
        cancel: b.cancel.clone(),
    };
    lab.wait_ready(limit, &prepare, &settle)?;
    Ok(lab)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(backend: &str, name: &str) -> ServerInfo {
        ServerInfo {
            backend: backend.into(),
            name: name.into(),
            location: "t.cfg:1".into(),
            file: PathBuf::from("t.cfg"),
            line: 1,
            checked: true,
            disabled: false,
            tracks: None,
            template: false,
            inter: Duration::from_secs(2),
            fastinter: None,
            fall: 3,
            check_timeout: Duration::from_secs(2),
            conditional: false,
        }
    }

    #[test]
    fn unknown_servers_get_a_suggestion_or_the_list() {
        let servers = [
            info("bk_app", "app1"),
            info("bk_app", "app2"),
            info("bk_api", "api1"),
        ];
        assert!(check_names("--down", &["bk_app/app1"], &servers).is_ok());
        let e = check_names("--down", &["bk_ap/app1"], &servers).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--down `bk_ap/app1`: no such server in the configuration; did you mean `bk_app/app1`?"
        );
        let e = check_names("--slow", &["zzz"], &servers).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--slow `zzz` (write it backend/server): no such server in the configuration; its servers are bk_app/app1, bk_app/app2, bk_api/api1"
        );
        let e = check_names("--down", &["app2"], &servers).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--down `app2` (write it backend/server): no such server in the configuration; did you mean `bk_app/app2`?"
        );
    }
}

#[cfg(test)]
mod proxy_location_tests {
    use super::*;
    use crate::config::model::parse_config;

    /// HAProxy names some rejected proxies without a `file:line` (`proxy
    /// 'bk': FCGI app configured but no FCGI server found.`): the message
    /// gets the section's own location in the user's file.
    #[test]
    fn alerts_naming_a_proxy_get_its_location() {
        let text =
            "frontend fe\n  bind :80\nbackend bk\n  server s 10.0.0.1:80\nlisten st\n  bind :81\n";
        let model = parse_config(text, Path::new("/etc/haproxy/haproxy.cfg"));
        let at = |m: &str| proxy_location(&model, m);
        assert_eq!(
            at("proxy 'bk': FCGI app configured but no FCGI server found.").as_deref(),
            Some("/etc/haproxy/haproxy.cfg:3")
        );
        assert_eq!(
            at("backend 'st' configured to load server state file").as_deref(),
            Some("/etc/haproxy/haproxy.cfg:5")
        );
        assert_eq!(
            at("frontend 'fe' has no backend").as_deref(),
            Some("/etc/haproxy/haproxy.cfg:1")
        );
        assert_eq!(at("proxy 'nope': x"), None);
        assert_eq!(at("frontend 'bk': x"), None);
        assert_eq!(at("proxy 'unterminated"), None);
    }
}
