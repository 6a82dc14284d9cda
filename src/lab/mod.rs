//! A disposable, real local HAProxy for playbooks and tests.
//!
//! The lab writes a config into a temporary directory, starts the real
//! `haproxy` binary with an admin unix socket, an admin TCP socket on
//! 127.0.0.1 and an operator-level socket, and serves its backends from tiny
//! HTTP responders on loopback. Everything stops and the directory is removed
//! when the [`Lab`] is dropped.
//!
//! Instead of a scenario, a lab can run a user's own configuration
//! ([`LabBuilder::config`]): [`rewrite`] moves its listeners to loopback and
//! its servers to responders, and every change is reported.

mod from_config;
mod responder;
pub mod rewrite;

pub use responder::{http_get, Behaviour};

use crate::base::error::{Error, Result};
use crate::runtime::{Address, Command, Target};
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// In the incident scenarios: two slow servers with `maxconn 1` behind
/// `balance uri`, so load builds a server-level queue.
pub const PINNED_BACKEND: &str = "bk_pinned";
/// Clients the queues scenario sends to `bk_slow` and to [`PINNED_BACKEND`].
const QUEUES_SLOW_CLIENTS: usize = 12;
const QUEUES_PINNED_CLIENTS: usize = 6;

/// What the lab sets up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Scenario {
    /// Every server healthy.
    Healthy,
    /// A realistic incident: a server DOWN (connection refused), one in MAINT
    /// from the config, a slow server with `maxconn 1`, a single-server backend.
    #[default]
    Incident,
    /// The incident plus concurrent load on the slow server so real queues build.
    Queues,
    /// 2,000 backends × 10 servers (benchmarks).
    Big,
}

impl Scenario {
    pub const NAMES: &'static [&'static str] = &["healthy", "incident", "queues", "big"];

    pub fn parse(s: &str) -> Option<Scenario> {
        match s {
            "healthy" => Some(Scenario::Healthy),
            "incident" => Some(Scenario::Incident),
            "queues" => Some(Scenario::Queues),
            "big" => Some(Scenario::Big),
            _ => None,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Scenario::Healthy => "every server healthy",
            Scenario::Incident => {
                "bk_api/api2 DOWN, bk_app/app3 in MAINT, bk_slow/slow1 with maxconn 1"
            }
            Scenario::Queues => {
                "the incident plus load: 12 clients on bk_slow (maxconn 1) queue at backend level, 6 on bk_pinned (balance uri, maxconn 1) at server level"
            }
            Scenario::Big => "2,000 backends x 10 servers",
        }
    }
}

/// Builder for a [`Lab`].
#[derive(Clone, Debug)]
pub struct LabBuilder {
    haproxy_bin: PathBuf,
    scenario: Scenario,
    log_to: Option<String>,
    extra_global: Vec<String>,
    extra_sections: Vec<String>,
    slow_delay: Duration,
    backends: Option<(usize, usize)>,
    config: Vec<PathBuf>,
    down: Vec<String>,
    slow: Vec<(String, Duration)>,
    keep_lua: bool,
    cancel: crate::base::cancel::CancelToken,
    master: bool,
}

impl Default for LabBuilder {
    fn default() -> Self {
        LabBuilder {
            haproxy_bin: PathBuf::from("haproxy"),
            scenario: Scenario::default(),
            log_to: None,
            extra_global: Vec::new(),
            extra_sections: Vec::new(),
            slow_delay: Duration::from_millis(400),
            backends: None,
            config: Vec::new(),
            down: Vec::new(),
            slow: Vec::new(),
            keep_lua: false,
            cancel: crate::base::cancel::CancelToken::new(),
            master: false,
        }
    }
}

impl LabBuilder {
    /// Run HAProxy in master-worker mode (`-W`) with a master CLI socket
    /// (`-S`, [`Lab::master_socket`]), so that it can be reloaded
    /// ([`Lab::reload`]) and its old workers seen.
    pub fn master(mut self, on: bool) -> Self {
        self.master = on;
        self
    }

    pub fn haproxy_bin(mut self, bin: impl Into<PathBuf>) -> Self {
        self.haproxy_bin = bin.into();
        self
    }

    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.scenario = scenario;
        self
    }

    /// Make HAProxy send its logs (`log <addr> local0`, `option httplog`) to `addr`.
    pub fn log_to(mut self, addr: impl Into<String>) -> Self {
        self.log_to = Some(addr.into());
        self
    }

    /// Extra lines for the `global` section.
    pub fn global_line(mut self, line: impl Into<String>) -> Self {
        self.extra_global.push(line.into());
        self
    }

    /// A section appended to the generated config, for cases the scenarios
    /// do not build (a backend whose servers `track` the scenario's).
    pub fn section(mut self, text: impl Into<String>) -> Self {
        self.extra_sections.push(text.into());
        self
    }

    /// How long the slow server takes to answer.
    pub fn slow_delay(mut self, d: Duration) -> Self {
        self.slow_delay = d;
        self
    }

    /// Run this configuration instead of a scenario: files and directories
    /// in order, as `haproxy -f` reads them. It is rewritten for the lab (see
    /// [`Lab::rewrites`]); a configuration that cannot be rewritten or that
    /// `haproxy -c` rejects afterwards is an error naming the user's
    /// `file:line`, and nothing is started. The scenario options
    /// (`scenario`, `global_line`, `section`, `slow_delay`, `size`) do not
    /// apply to it; `log_to` does (every network or UNIX `log` target goes
    /// there instead of the lab's `haproxy.log`).
    pub fn config<P: Into<PathBuf>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.config = paths.into_iter().map(Into::into).collect();
        self
    }

    /// With [`LabBuilder::config`]: the responder of `backend/server`
    /// refuses connections, so its health checks fail and HAProxy marks it
    /// DOWN (the lab waits until it does).
    pub fn down(mut self, server: impl Into<String>) -> Self {
        self.down.push(server.into());
        self
    }

    /// With [`LabBuilder::config`]: the responder of `backend/server`
    /// answers every request (health checks too) after `delay`.
    pub fn slow(mut self, server: impl Into<String>, delay: Duration) -> Self {
        self.slow.push((server.into(), delay));
        self
    }

    /// With [`LabBuilder::config`]: run the configuration's Lua scripts.
    /// They are dropped by default: Lua can open connections to any address
    /// (`core.tcp`, `core.httpclient`, background tasks), production's
    /// included.
    pub fn keep_lua(mut self, on: bool) -> Self {
        self.keep_lua = on;
        self
    }

    /// Cancelling this token while the lab starts (it may wait for servers
    /// to go DOWN) stops it with [`Error::Interrupted`], cleaned up.
    pub fn cancel(mut self, token: crate::base::cancel::CancelToken) -> Self {
        self.cancel = token;
        self
    }

    /// For [`Scenario::Big`]: how many backends and servers per backend.
    pub fn size(mut self, backends: usize, servers: usize) -> Self {
        self.backends = Some((backends, servers));
        self
    }

    pub fn start(self) -> Result<Lab> {
        // The frontend and TCP socket ports are found free, then bound by
        // haproxy: a parallel lab can take one in between. Try again then.
        let mut attempts = 0;
        loop {
            let started = if self.config.is_empty() {
                Lab::start(self.clone())
            } else {
                from_config::start(self.clone())
            };
            match started {
                Err(Error::Other(m)) if attempts < 3 && m.contains("cannot bind") => attempts += 1,
                r => return r,
            }
        }
    }
}

/// `BACKEND/SERVER=DELAY`, as `--slow` and a test's `slow` give a slow
/// server: the delay between 1ms and 1h (a longer one only hangs the lab).
/// Err is the reason, for the caller to prefix with where the value came from.
pub fn parse_slow(raw: &str) -> std::result::Result<(String, Duration), String> {
    let (server, delay) = raw
        .rsplit_once('=')
        .ok_or("expected BACKEND/SERVER=DELAY, e.g. bk_app/app1=2s")?;
    let d = humantime::parse_duration(delay)
        .map_err(|e| format!("`{delay}` is not a delay ({e}); e.g. 500ms, 2s"))?;
    if d.is_zero() || d > Duration::from_secs(3600) {
        return Err("the delay must be between 1ms and 1h".into());
    }
    Ok((server.to_string(), d))
}

/// A running lab. Dropping it stops HAProxy and the responders and removes the directory.
///
/// The lab's `haproxy` is tied to the thread that started it (Linux
/// `PR_SET_PDEATHSIG`): it is stopped if that thread ends, so start a lab on
/// a thread that outlives it (not a short-lived `spawn_blocking` task).
pub struct Lab {
    dir: tempfile::TempDir,
    child: Option<Child>,
    admin_socket: PathBuf,
    /// The master CLI (`-S`) when the lab runs master-worker.
    master_socket: Option<PathBuf>,
    operator_socket: Option<PathBuf>,
    tcp_socket: Option<String>,
    frontend: SocketAddr,
    config_paths: Vec<PathBuf>,
    /// A configuration lab: the user's files, and the copy haproxy runs.
    user_config: Vec<PathBuf>,
    config_copy: Option<crate::config::ConfigCopy>,
    scenario: Scenario,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    rt_handle: tokio::runtime::Handle,
    /// Ports of the refusing servers, held for the lab's lifetime.
    _reserved: Vec<std::os::fd::OwnedFd>,
    /// The log and DNS sinks of a configuration lab, held for its lifetime.
    _sinks: Vec<std::net::UdpSocket>,
    rewrites: Vec<rewrite::Rewrite>,
    binds: Vec<rewrite::BindMap>,
    servers: Vec<rewrite::ServerInfo>,
    cancel: crate::base::cancel::CancelToken,
}

/// The runtime the responders run on: its own thread, so a Lab can be used
/// (and dropped) from sync code and from inside other runtimes alike.
struct LabRuntime {
    handle: tokio::runtime::Handle,
    shutdown: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

fn lab_runtime() -> Result<LabRuntime> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name("harun-lab")
        .build()
        .map_err(|e| Error::Other(format!("cannot start the lab's runtime: {e}")))?;
    let handle = rt.handle().clone();
    let (shutdown, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        rt.block_on(async {
            let _ = rx.await;
        });
        rt.shutdown_timeout(Duration::from_millis(200));
    });
    Ok(LabRuntime {
        handle,
        shutdown,
        thread,
    })
}

/// Serve `behaviour` on an already bound listener.
fn serve_on(
    rt: &tokio::runtime::Handle,
    std_l: StdListener,
    behaviour: Behaviour,
    name: &str,
) -> Result<()> {
    let addr = std_l
        .local_addr()
        .map_err(|e| Error::io("127.0.0.1:0", e))?;
    std_l
        .set_nonblocking(true)
        .map_err(|e| Error::io(addr.to_string(), e))?;
    let _guard = rt.enter();
    let l = tokio::net::TcpListener::from_std(std_l).map_err(|e| Error::io(addr.to_string(), e))?;
    rt.spawn(responder::serve(l, behaviour, name.to_string()));
    Ok(())
}

/// Start `haproxy -db -f ...` with its output in `haproxy.log` of `dir`;
/// with `master`, as a master-worker with that master CLI socket.
fn spawn_haproxy(
    bin: &Path,
    paths: &[PathBuf],
    dir: &Path,
    master: Option<&Path>,
) -> Result<Child> {
    let log_path = dir.join("haproxy.log");
    let log = std::fs::File::create(&log_path).map_err(|e| Error::io(&log_path, e))?;
    let log2 = log.try_clone().map_err(|e| Error::io(&log_path, e))?;
    let mut cmd = std::process::Command::new(crate::base::program::resolve_program(bin));
    // If harun dies without cleaning up (SIGKILL), the kernel stops the
    // lab's haproxy too instead of leaving it behind.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    cmd.arg("-db");
    if let Some(socket) = master {
        cmd.arg("-W").arg("-S").arg(socket);
    }
    for p in paths {
        cmd.arg("-f").arg(p);
    }
    cmd.stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Other(format!(
                    "`{}` not found: {}",
                    bin.display(),
                    Lab::install_hint()
                ))
            } else {
                Error::io(bin, e)
            }
        })
}

/// A loopback port that refuses connections and stays ours: bound, never
/// listening. A port merely found free could be taken by a parallel lab's
/// responder, which would bring the "refusing" server UP.
fn refusing_port() -> Result<(std::os::fd::OwnedFd, u16)> {
    use std::os::fd::FromRawFd;
    let err = |what: &str| {
        Error::io(
            format!("127.0.0.1:0 ({what})"),
            std::io::Error::last_os_error(),
        )
    };
    // SAFETY: plain socket calls on a descriptor this function owns; the
    // sockaddr structs are fully initialised and sized as passed.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(err("socket"));
        }
        let owned = std::os::fd::OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        if libc::bind(fd, &addr as *const _ as *const libc::sockaddr, len) != 0 {
            return Err(err("bind"));
        }
        let mut got: libc::sockaddr_in = std::mem::zeroed();
        let mut got_len = len;
        if libc::getsockname(fd, &mut got as *mut _ as *mut libc::sockaddr, &mut got_len) != 0 {
            return Err(err("getsockname"));
        }
        Ok((owned, u16::from_be(got.sin_port)))
    }
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn free_port() -> Result<u16> {
    let l = StdListener::bind("127.0.0.1:0").map_err(|e| Error::io("127.0.0.1:0", e))?;
    let port = l
        .local_addr()
        .map_err(|e| Error::io("127.0.0.1:0", e))?
        .port();
    Ok(port)
}

struct ServerSpec {
    name: String,
    addr: SocketAddr,
    opts: String,
}

impl Lab {
    pub fn builder() -> LabBuilder {
        LabBuilder::default()
    }

    /// The install hint shown when `haproxy` is missing.
    pub fn install_hint() -> &'static str {
        "install it with `sudo apt-get install haproxy` (Debian/Ubuntu) or `sudo dnf install haproxy`, or pass --haproxy-bin PATH"
    }

    fn start(b: LabBuilder) -> Result<Lab> {
        let dir = tempfile::Builder::new()
            .prefix("harun-lab-")
            .tempdir()
            .map_err(|e| Error::io(std::env::temp_dir(), e))?;

        let LabRuntime {
            handle: rt_handle,
            shutdown: tx,
            thread,
        } = lab_runtime()?;

        let reserved = std::cell::RefCell::new(Vec::new());
        let spawn_server = |behaviour: Behaviour, name: &str| -> Result<SocketAddr> {
            if behaviour == Behaviour::Refusing {
                let (fd, port) = refusing_port()?;
                reserved.borrow_mut().push(fd);
                return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
            }
            let std_l =
                StdListener::bind("127.0.0.1:0").map_err(|e| Error::io("127.0.0.1:0", e))?;
            let addr = std_l
                .local_addr()
                .map_err(|e| Error::io("127.0.0.1:0", e))?;
            serve_on(&rt_handle, std_l, behaviour, name)?;
            Ok(addr)
        };

        let admin_socket = dir.path().join("admin.sock");
        let operator_socket = dir.path().join("operator.sock");
        let tcp_port = free_port()?;
        let tcp_socket = format!("127.0.0.1:{tcp_port}");
        let fe_port = free_port()?;
        let frontend = SocketAddr::from(([127, 0, 0, 1], fe_port));
        let check = "check inter 300ms fall 1 rise 1";

        let mut backends: Vec<(String, Vec<ServerSpec>)> = Vec::new();
        match b.scenario {
            Scenario::Big => {
                let (nb, ns) = b.backends.unwrap_or((2000, 10));
                let addr = spawn_server(Behaviour::Healthy, "big")?;
                for i in 0..nb {
                    let servers = (0..ns)
                        .map(|j| ServerSpec {
                            name: format!("srv{j}"),
                            addr,
                            opts: String::new(),
                        })
                        .collect();
                    backends.push((format!("bk{i:04}"), servers));
                }
            }
            scenario => {
                let healthy = scenario == Scenario::Healthy;
                let mut app = vec![
                    ServerSpec {
                        name: "app1".into(),
                        addr: spawn_server(Behaviour::Healthy, "app1")?,
                        opts: check.into(),
                    },
                    ServerSpec {
                        name: "app2".into(),
                        addr: spawn_server(Behaviour::Healthy, "app2")?,
                        opts: check.into(),
                    },
                ];
                app.push(ServerSpec {
                    name: "app3".into(),
                    addr: spawn_server(Behaviour::Healthy, "app3")?,
                    opts: if healthy {
                        check.into()
                    } else {
                        format!("{check} disabled")
                    },
                });
                let api = vec![
                    ServerSpec {
                        name: "api1".into(),
                        addr: spawn_server(Behaviour::Healthy, "api1")?,
                        opts: check.into(),
                    },
                    ServerSpec {
                        name: "api2".into(),
                        addr: spawn_server(
                            if healthy {
                                Behaviour::Healthy
                            } else {
                                Behaviour::Refusing
                            },
                            "api2",
                        )?,
                        opts: check.into(),
                    },
                ];
                let slow = vec![ServerSpec {
                    name: "slow1".into(),
                    addr: spawn_server(Behaviour::Slow(b.slow_delay), "slow1")?,
                    // No check: a slow check would flap it; maxconn 1 makes queues.
                    opts: "maxconn 1".into(),
                }];
                let single = vec![ServerSpec {
                    name: "only1".into(),
                    addr: spawn_server(Behaviour::Healthy, "only1")?,
                    opts: check.into(),
                }];
                backends.push(("bk_app".into(), app));
                backends.push(("bk_api".into(), api));
                backends.push(("bk_slow".into(), slow));
                backends.push(("bk_single".into(), single));
                if !healthy {
                    // `balance uri` binds a request to one server before it
                    // queues: the queue builds on the server, not the backend.
                    let pinned = (1..=2)
                        .map(|i| {
                            Ok(ServerSpec {
                                name: format!("pin{i}"),
                                addr: spawn_server(Behaviour::Slow(b.slow_delay), "pin")?,
                                opts: "maxconn 1".into(),
                            })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    backends.push((PINNED_BACKEND.into(), pinned));
                }
            }
        }

        let mut cfg = String::new();
        let _ = writeln!(cfg, "# generated by harun lab ({:?})", b.scenario);
        let _ = writeln!(cfg, "global");
        let _ = writeln!(
            cfg,
            "    stats socket {} level admin mode 600",
            admin_socket.display()
        );
        let _ = writeln!(cfg, "    stats socket ipv4@{tcp_socket} level admin");
        let _ = writeln!(
            cfg,
            "    stats socket {} level operator",
            operator_socket.display()
        );
        let _ = writeln!(cfg, "    stats timeout 2m");
        // HAProxy keeps the first `maxconn` of global and ignores a second one.
        if !b
            .extra_global
            .iter()
            .any(|l| l.split_whitespace().next() == Some("maxconn"))
        {
            let _ = writeln!(cfg, "    maxconn 4096");
        }
        if let Some(log) = &b.log_to {
            let _ = writeln!(cfg, "    log {log} local0");
        }
        for l in &b.extra_global {
            let _ = writeln!(cfg, "    {l}");
        }
        let _ = writeln!(cfg, "\ndefaults");
        let _ = writeln!(cfg, "    mode http");
        if b.log_to.is_some() {
            let _ = writeln!(cfg, "    log global\n    option httplog");
        }
        let _ = writeln!(
            cfg,
            "    option http-keep-alive\n    option prefer-last-server"
        );
        let _ = writeln!(cfg, "    timeout connect 2s\n    timeout client 60s\n    timeout server 60s\n    timeout queue 60s");
        let _ = writeln!(cfg, "\nfrontend fe_main");
        let _ = writeln!(cfg, "    bind {frontend}");
        let _ = writeln!(
            cfg,
            "    use_backend %[req.hdr(x-backend)] if {{ req.hdr(x-backend) -m found }}"
        );
        if let Some((first, _)) = backends.first() {
            let _ = writeln!(cfg, "    default_backend {first}");
        }
        for (name, servers) in &backends {
            let _ = writeln!(cfg, "\nbackend {name}");
            if name == PINNED_BACKEND {
                let _ = writeln!(cfg, "    balance uri");
            }
            if name == "bk_app" && b.scenario != Scenario::Big {
                // A troubleshooting header, for trace_header to find and see.
                let _ = writeln!(
                    cfg,
                    "    http-response set-header X-Served-By %[be_name]/%[srv_name]"
                );
            }
            for s in servers {
                let _ = writeln!(cfg, "    server {} {} {}", s.name, s.addr, s.opts);
            }
        }
        for section in &b.extra_sections {
            let _ = writeln!(cfg, "\n{}", section.trim_end());
        }
        let config_path = dir.path().join("haproxy.cfg");
        std::fs::write(&config_path, &cfg).map_err(|e| Error::io(&config_path, e))?;
        let master_socket = b.master.then(|| dir.path().join("master.sock"));
        let child = spawn_haproxy(
            &b.haproxy_bin,
            std::slice::from_ref(&config_path),
            dir.path(),
            master_socket.as_deref(),
        )?;

        let mut lab = Lab {
            dir,
            child: Some(child),
            admin_socket,
            master_socket,
            operator_socket: Some(operator_socket),
            tcp_socket: Some(tcp_socket),
            frontend,
            user_config: vec![config_path.clone()],
            config_copy: None,
            config_paths: vec![config_path],
            scenario: b.scenario,
            shutdown: Some(tx),
            thread: Some(thread),
            rt_handle,
            _reserved: reserved.into_inner(),
            _sinks: Vec::new(),
            rewrites: Vec::new(),
            binds: Vec::new(),
            servers: Vec::new(),
            cancel: b.cancel.clone(),
        };
        // The incident scenario is ready once its DOWN server is seen DOWN.
        let settle: Vec<(String, String)> = match b.scenario {
            Scenario::Incident | Scenario::Queues => vec![("bk_api".into(), "api2".into())],
            _ => Vec::new(),
        };
        let limit = Duration::from_secs(if b.scenario == Scenario::Big { 60 } else { 15 });
        lab.wait_ready(limit, &[], &settle)?;
        if b.scenario == Scenario::Queues {
            lab.rt_handle.spawn(responder::load(
                lab.frontend,
                "bk_slow".into(),
                QUEUES_SLOW_CLIENTS,
            ));
            lab.rt_handle.spawn(responder::load(
                lab.frontend,
                PINNED_BACKEND.into(),
                QUEUES_PINNED_CLIENTS,
            ));
            lab.wait_loaded(limit)?;
        }
        Ok(lab)
    }

    /// The queues scenario is ready once its load is in: every client
    /// connected and both queues built. Returning as soon as the load is
    /// spawned let a playbook (or a `lab:queues` test) read `show stat`
    /// before anything queued.
    fn wait_loaded(&self, limit: Duration) -> Result<()> {
        let start = Instant::now();
        let target = Target::new(
            Address::Unix(self.admin_socket.clone()),
            Duration::from_secs(5),
        );
        let mut seen = String::new();
        loop {
            if self.cancel.is_cancelled() {
                return Err(Error::Interrupted);
            }
            if let Some(stat) = self
                .rt_handle
                .block_on(async { target.stat(&Command::show_stat()).await.ok() })
            {
                let int = |px: &str, sv: &str, col: &str| {
                    stat.find(px, sv)
                        .and_then(|r| stat.int(r, col))
                        .unwrap_or(0)
                };
                let slow_scur = int("bk_slow", "BACKEND", "scur");
                let slow_q = int("bk_slow", "BACKEND", "qcur");
                let pinned_scur = int(PINNED_BACKEND, "BACKEND", "scur");
                let pinned_q =
                    int(PINNED_BACKEND, "pin1", "qcur").max(int(PINNED_BACKEND, "pin2", "qcur"));
                let clients = (QUEUES_SLOW_CLIENTS + QUEUES_PINNED_CLIENTS) as i64;
                // A lab started with a lower process maxconn (a test of
                // that limit) takes only that many clients: then the
                // frontend at its limit is the load being in.
                let fe_limit = stat
                    .find("fe_main", "FRONTEND")
                    .and_then(|r| stat.int(r, "slim"))
                    .filter(|l| *l > 0 && *l < clients);
                let fe_scur = int("fe_main", "FRONTEND", "scur");
                let ready = match fe_limit {
                    Some(l) => fe_scur >= l,
                    None => {
                        slow_scur >= QUEUES_SLOW_CLIENTS as i64
                            && slow_q > 0
                            && pinned_scur >= QUEUES_PINNED_CLIENTS as i64
                            && pinned_q > 0
                    }
                };
                if ready {
                    return Ok(());
                }
                seen = format!(
                    "fe_main: {fe_scur} sessions; bk_slow: {slow_scur} sessions, {slow_q} queued; {PINNED_BACKEND}: {pinned_scur} sessions, {pinned_q} queued on a server"
                );
            }
            if start.elapsed() > limit {
                return Err(Error::Other(format!(
                    "lab queues: the load did not build its queues within {}s ({seen})",
                    limit.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until HAProxy answers on the admin socket, send `prepare` once,
    /// then wait until every server of `down` (that HAProxy has) is DOWN.
    fn wait_ready(
        &mut self,
        limit: Duration,
        prepare: &[Command],
        down: &[(String, String)],
    ) -> Result<()> {
        let start = Instant::now();
        let target = Target::new(
            Address::Unix(self.admin_socket.clone()),
            Duration::from_secs(5),
        );
        let mut prepared = false;
        loop {
            if self.cancel.is_cancelled() {
                return Err(Error::Interrupted);
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    let log = std::fs::read_to_string(self.dir.path().join("haproxy.log"))
                        .unwrap_or_default();
                    return Err(Error::Other(format!(
                        "haproxy exited during lab start-up ({status}):\n{}",
                        log.trim_end()
                    )));
                }
            }
            let mut waiting_for = Vec::new();
            if self.admin_socket.exists() {
                let ready = self.rt_handle.block_on(async {
                    if !prepared {
                        for c in prepare {
                            target.send(c).await.ok()?;
                        }
                    }
                    target.stat(&Command::show_stat()).await.ok()
                });
                if let Some(stat) = ready {
                    prepared = true;
                    for (b, s) in down {
                        let Some(row) = stat.find(b, s) else {
                            continue;
                        };
                        let status = stat.text(row, "status").unwrap_or("");
                        if !status.starts_with("DOWN") {
                            waiting_for.push(format!("{b}/{s} ({status})"));
                        }
                    }
                    // The master CLI listens apart from the worker's sockets.
                    let master_up = self
                        .master_socket
                        .as_ref()
                        .is_none_or(|m| std::os::unix::net::UnixStream::connect(m).is_ok());
                    if waiting_for.is_empty() && master_up {
                        return Ok(());
                    }
                }
            }
            if start.elapsed() > limit {
                let what = if waiting_for.is_empty() {
                    "become ready".to_string()
                } else {
                    format!("mark {} DOWN", waiting_for.join(", "))
                };
                return Err(Error::Other(format!(
                    "haproxy did not {what} within {}s (config: {})",
                    limit.as_secs(),
                    self.config_paths
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The admin-level unix socket.
    pub fn admin_socket(&self) -> &Path {
        &self.admin_socket
    }

    /// An operator-level unix socket (state changes answer `Permission
    /// denied`). Scenario labs only: a configuration lab has the sockets its
    /// configuration declares.
    pub fn operator_socket(&self) -> Option<&Path> {
        self.operator_socket.as_deref()
    }

    /// The admin-level TCP socket, `127.0.0.1:PORT`. Scenario labs only.
    pub fn tcp_socket(&self) -> Option<&str> {
        self.tcp_socket.as_deref()
    }

    /// The HTTP frontend; in a scenario lab an `X-Backend: NAME` header routes
    /// to a backend. In a configuration lab, the first TCP `bind` of the
    /// configuration (see [`Lab::binds`] for all of them).
    pub fn frontend(&self) -> SocketAddr {
        self.frontend
    }

    /// The (first) configuration file haproxy runs; in a configuration lab,
    /// the copy of the user's first file.
    pub fn config_path(&self) -> &Path {
        self.config_paths
            .iter()
            .find(|p| !p.ends_with(rewrite::PRELUDE_FILE))
            .unwrap_or(&self.config_paths[0])
    }

    /// Every configuration file haproxy runs, in `-f` order. In a
    /// configuration lab: the lab's prelude first if it needs one
    /// (`localpeer`, which must come before the peers sections), then the
    /// rewritten copies of the user's files (same line numbers), and last the
    /// lab's additions if any.
    pub fn config_paths(&self) -> &[PathBuf] {
        &self.config_paths
    }

    /// The configuration a run against this lab lints and names in its
    /// findings: in a configuration lab, the user's own files as given to
    /// [`LabBuilder::config`] (production's chroot, log targets and sockets
    /// are what a rehearsal must judge); else [`Lab::config_paths`].
    pub fn user_config_paths(&self) -> &[PathBuf] {
        &self.user_config
    }

    /// In a configuration lab, the copy `haproxy -c` runs instead of
    /// [`Lab::user_config_paths`] (its messages named back to the user's
    /// `file:line`); see [`crate::script::settings::Settings::config_copy`].
    pub fn config_copy(&self) -> Option<&crate::config::ConfigCopy> {
        self.config_copy.as_ref()
    }

    /// What the lab changed in the user's configuration, one entry per
    /// change (empty for a scenario lab).
    pub fn rewrites(&self) -> &[rewrite::Rewrite] {
        &self.rewrites
    }

    /// Where each `bind` line of the user's configuration listens in the lab.
    pub fn binds(&self) -> &[rewrite::BindMap] {
        &self.binds
    }

    /// The servers of the user's configuration (empty for a scenario lab).
    pub fn servers(&self) -> &[rewrite::ServerInfo] {
        &self.servers
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The scenario (not used by a configuration lab).
    pub fn scenario(&self) -> Scenario {
        self.scenario
    }

    /// HAProxy's pid: the master's in master-worker mode.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// The master CLI socket, when the lab runs master-worker
    /// ([`LabBuilder::master`]).
    pub fn master_socket(&self) -> Option<&Path> {
        self.master_socket.as_deref()
    }

    /// Reload a master-worker lab as `systemctl reload` does (SIGUSR2 to the
    /// master): a new worker starts; the old one finishes its sessions.
    pub fn reload(&self) -> Result<()> {
        let (Some(child), Some(_)) = (self.child.as_ref(), self.master_socket.as_ref()) else {
            return Err(Error::Other(
                "the lab does not run master-worker: start it with `master(true)`".into(),
            ));
        };
        // SAFETY: kill(2) on the pid of our own child, which we have not reaped.
        let rc = unsafe { libc::kill(child.id() as i32, libc::SIGUSR2) };
        if rc != 0 {
            return Err(Error::io(
                format!("haproxy master {}", child.id()),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// Start `concurrency` clients looping on `backend` for the lab's lifetime.
    pub fn add_load(&self, backend: &str, concurrency: usize) {
        self.rt_handle.spawn(responder::load(
            self.frontend,
            backend.to_string(),
            concurrency,
        ));
    }

    /// Send one request through the frontend (blocking); returns the raw response.
    pub fn get(&self, path: &str, backend: Option<&str>) -> Result<String> {
        let addr = self.frontend;
        self.rt_handle
            .block_on(http_get(addr, path, backend))
            .map_err(|e| Error::io(addr.to_string(), e))
    }

    /// Stop HAProxy and the responders now (also done on drop).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM lets haproxy remove its sockets; SIGKILL if it lingers.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM);
            }
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(3) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_servers_parse_with_bounds() {
        assert_eq!(
            parse_slow("bk_app/app1=2s").unwrap(),
            ("bk_app/app1".to_string(), Duration::from_secs(2))
        );
        assert_eq!(
            parse_slow("b/s=500ms").unwrap().1,
            Duration::from_millis(500)
        );
        assert_eq!(
            parse_slow("bk_app/app1").unwrap_err(),
            "expected BACKEND/SERVER=DELAY, e.g. bk_app/app1=2s"
        );
        assert!(parse_slow("b/s=fast")
            .unwrap_err()
            .starts_with("`fast` is not a delay ("));
        for bad in ["b/s=0s", "b/s=2h"] {
            assert_eq!(
                parse_slow(bad).unwrap_err(),
                "the delay must be between 1ms and 1h",
                "{bad}"
            );
        }
    }
}
