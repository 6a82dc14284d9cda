//! The embedding API: build a [`Runner`], run a playbook or an expression,
//! get a [`Report`] back.
//!
//! ```no_run
//! use harun::Runner;
//! let runner = Runner::builder().socket("/run/haproxy/admin.sock")?.build()?;
//! let report = runner.run_playbook("inspect_queues")?;
//! for f in report.ranked_findings() {
//!     println!("{} {} {}", f.severity, f.id, f.title);
//! }
//! # Ok::<(), harun::Error>(())
//! ```
//!
//! Playbook primitives are synchronous and block on the runner's own tokio
//! runtime. From async code, call the runner inside `spawn_blocking`.

use crate::base::cancel::CancelToken;
use crate::base::error::{Error, Result};
use crate::base::report::{Report, TargetInfo};
use crate::base::sink::{Confirm, NullSink, Sink};
use crate::runtime::replay::Bundle;
use crate::runtime::Address;
use crate::script::params::{self, Contract};
use crate::script::playbooks;
use crate::script::settings::{Limits, Settings};
use crate::script::{self, errors, Ctx};
use rhai::{Dynamic, Engine, Scope, AST};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub struct RunnerBuilder {
    settings: Settings,
    sink: Arc<dyn Sink>,
    confirm: Option<Arc<dyn Confirm>>,
    cancel: CancelToken,
    runtime: Option<Arc<tokio::runtime::Runtime>>,
    preconnect: bool,
}

impl RunnerBuilder {
    /// Add a runtime API socket (`/path`, `unix@/path`, `ipv4@h:p`, `ipv6@[a]:p`, `h:p`).
    pub fn socket(mut self, address: &str) -> Result<Self> {
        self.settings.sockets.push(Address::parse(address)?);
        Ok(self)
    }

    /// Add the hosts of an Ansible inventory (INI, or YAML when named
    /// `.yml`/`.yaml`), all of them or those `limit` selects (an Ansible
    /// host pattern); each target is named by its host.
    pub fn inventory(
        mut self,
        path: impl AsRef<std::path::Path>,
        limit: Option<&str>,
    ) -> Result<Self> {
        self.settings.fleet = crate::fleet::targets(path.as_ref(), limit)?;
        Ok(self)
    }

    /// At most this many targets are talked to at once (`--forks`).
    pub fn max_parallel(mut self, n: usize) -> Self {
        self.settings.max_parallel = n.max(1);
        self
    }

    /// Rolling changes (`--serial`): writes go to the hosts group by group.
    pub fn serial(mut self, serial: Option<crate::fleet::Serial>) -> Self {
        self.settings.serial = serial;
        self
    }

    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    pub fn config_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.config_paths = vec![path.into()];
        self.settings.config_copy = None;
        self
    }

    /// Several configuration files, in `haproxy -f` order.
    pub fn config_paths<P: Into<PathBuf>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.settings.config_paths = paths.into_iter().map(Into::into).collect();
        // Another configuration: a lab's copy no longer stands in for it.
        self.settings.config_copy = None;
        self
    }

    /// Run against a lab: its admin socket, and its configuration as
    /// [`Lab::user_config_paths`](crate::lab::Lab::user_config_paths) and
    /// [`Lab::config_copy`](crate::lab::Lab::config_copy) describe it (a
    /// configuration lab lints the user's files and names them in findings;
    /// `haproxy -c` runs the lab's copy).
    pub fn lab(mut self, lab: &crate::lab::Lab) -> Self {
        self.settings.sockets = vec![Address::Unix(lab.admin_socket().to_path_buf())];
        self.settings.config_paths = lab.user_config_paths().to_vec();
        self.settings.config_copy = lab.config_copy().cloned();
        self
    }

    pub fn haproxy_bin(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.haproxy_bin = path.into();
        self
    }

    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.params.insert(key.into(), value.into());
        self
    }

    pub fn io_timeout(mut self, d: Duration) -> Self {
        self.settings.io_timeout = d;
        self
    }

    pub fn max_time(mut self, d: Option<Duration>) -> Self {
        self.settings.max_time = d;
        self
    }

    pub fn limits(mut self, limits: Limits) -> Self {
        self.settings.limits = limits;
        self
    }

    pub fn dry_run(mut self, on: bool) -> Self {
        self.settings.dry_run = on;
        self
    }

    pub fn read_only(mut self, on: bool) -> Self {
        self.settings.read_only = on;
        self
    }

    /// Writes proceed without asking (the CLI's `--yes`).
    pub fn yes(mut self, on: bool) -> Self {
        self.settings.yes = on;
        self
    }

    pub fn journal(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.journal_path = path.into();
        self
    }

    /// Live output (prints, tables, findings, progress, writes).
    pub fn sink(mut self, sink: Arc<dyn Sink>) -> Self {
        self.sink = sink;
        self
    }

    /// Asked before the first write of a run unless `yes`.
    pub fn confirm(mut self, confirm: Arc<dyn Confirm>) -> Self {
        self.confirm = Some(confirm);
        self
    }

    /// Cancel this token (from another thread, a signal handler...) to stop a run.
    pub fn cancel_token(mut self, token: CancelToken) -> Self {
        self.cancel = token;
        self
    }

    /// Share a tokio runtime instead of creating one (a current-thread one
    /// is fastest: harun blocks on it from the calling thread).
    pub fn runtime(mut self, rt: Arc<tokio::runtime::Runtime>) -> Self {
        self.runtime = Some(rt);
        self
    }

    /// Open each local socket's first session on a thread of its own as
    /// the runner is built, so the connections and their handshakes are
    /// done while the caller compiles and starts its playbook (the CLI
    /// does; a session not used within a second is dropped and opened
    /// again when needed). Off by default: an embedder's first command may
    /// come much later.
    pub fn preconnect(mut self, on: bool) -> Self {
        self.preconnect = on;
        self
    }

    pub fn build(self) -> Result<Runner> {
        let mut settings = self.settings;
        let replay = open_replay(&mut settings)?;
        let rt = match self.runtime {
            Some(rt) => rt,
            // One thread: primitives block on it and drive the sockets
            // themselves, with no cross-thread wake-up per command.
            None => Arc::new(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| Error::Other(format!("cannot start the I/O runtime: {e}")))?,
            ),
        };
        let mut ctx = Ctx::new(settings, rt.clone(), self.cancel, self.sink, self.confirm);
        if let Some(b) = replay {
            ctx = ctx.with_replay(b);
        } else if self.preconnect {
            ctx.client.preconnect();
        }
        Ok(Runner {
            ctx: Arc::new(ctx),
            _rt: rt,
        })
    }
}

/// The bundle of a `replay@DIR` target, opened; the run's configuration
/// becomes the one the snapshot recorded. A bundle is the only target of
/// its run: replies of the day mixed with live ones would describe no moment.
fn open_replay(settings: &mut Settings) -> Result<Option<Arc<Bundle>>> {
    let dirs: Vec<PathBuf> = settings
        .sockets
        .iter()
        .filter_map(|a| match a {
            Address::Replay(d) => Some(d.clone()),
            _ => None,
        })
        .collect();
    let Some(dir) = dirs.first() else {
        return Ok(None);
    };
    if settings.sockets.len() > 1 || !settings.fleet.is_empty() {
        return Err(Error::InvalidInput {
            what: "socket",
            value: settings
                .sockets
                .iter()
                .map(|a| a.to_string())
                .chain(settings.fleet.iter().map(|m| m.name.clone()))
                .collect::<Vec<_>>()
                .join(","),
            reason: "a replay bundle is the only target of its run: do not mix `replay@DIR` with live sockets or another bundle".into(),
        });
    }
    let bundle = Bundle::open(dir)?;
    if !bundle.config_paths().is_empty() {
        settings.config_paths = bundle.config_paths().to_vec();
    }
    Ok(Some(Arc::new(bundle)))
}

/// Runs playbooks against a set of HAProxy targets. Sessions persist across runs.
pub struct Runner {
    ctx: Arc<Ctx>,
    _rt: Arc<tokio::runtime::Runtime>,
}

impl Runner {
    pub fn builder() -> RunnerBuilder {
        RunnerBuilder {
            settings: Settings::default(),
            sink: Arc::new(NullSink),
            confirm: None,
            cancel: CancelToken::new(),
            runtime: None,
            preconnect: false,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.ctx.settings
    }

    pub fn cancel_token(&self) -> CancelToken {
        self.ctx.cancel.clone()
    }

    /// The shared state primitives use (for the REPL and advanced embedders).
    pub fn context(&self) -> &Arc<Ctx> {
        &self.ctx
    }

    /// The snapshot bundle this runner replays (`replay@DIR`), if any.
    pub fn replay(&self) -> Option<&Arc<Bundle>> {
        self.ctx.replay()
    }

    /// A fresh engine wired to this runner (REPL, custom hosts).
    pub fn engine(&self, base_dir: Option<PathBuf>) -> Engine {
        script::build_engine(&self.ctx, base_dir)
    }

    /// Run a shipped playbook by name or a `.rhai` file by path.
    pub fn run_playbook(&self, name_or_path: &str) -> Result<Report> {
        let settings = &self.ctx.settings;
        let src =
            playbooks::resolve_checked(name_or_path, &settings.params, settings.strict_params)?;
        let shipped = src.dir.is_none() && playbooks::shipped(&src.name).is_some();
        let mut report = self.run_source(&src.name, &src.text, src.dir);
        if let Some(e) = report
            .error
            .as_mut()
            .filter(|e| shipped && e.is_environment())
        {
            e.forget_location();
        }
        Ok(report)
    }

    /// Run playbook text. Errors inside the playbook are in `report.error`.
    /// A source with a `//!` header may read only the parameters it declares
    /// (see [`crate::script::params`]).
    pub fn run_source(&self, name: &str, source: &str, dir: Option<PathBuf>) -> Report {
        let contract = playbooks::parse_header(name, "", source).contract();
        self.run_inner(name, source, dir, false, contract)
    }

    /// Evaluate an expression; its value is in `report.value`.
    pub fn eval(&self, expr: &str) -> Report {
        let mut report =
            self.run_inner("-e", expr, Some(PathBuf::from(".")), true, Contract::AdHoc);
        if let Some(e) = report.error.as_mut().filter(|e| e.is_environment()) {
            e.forget_location();
            e.file = None;
        }
        report
    }

    fn run_inner(
        &self,
        name: &str,
        source: &str,
        dir: Option<PathBuf>,
        keep_value: bool,
        contract: Contract,
    ) -> Report {
        self.ctx.begin_run(name);
        let engine = script::build_engine(&self.ctx, dir);
        let outcome = compile(&engine, name, source).and_then(|ast| {
            params::check_reads(&contract, &ast)?;
            // `-e`: what it reads is its declaration; a `-p` it never reads is a typo.
            if keep_value && self.ctx.settings.strict_params {
                let facts = script::facts::collect(&ast);
                let given = self.ctx.settings.params.keys();
                if let Some(m) = contract.refuse_given(name, Some(&facts), given) {
                    return Err(errors::to_rhai(Error::Playbook(m)));
                }
            }
            self.ctx.set_param_contract(contract);
            let mut scope = Scope::new();
            engine.eval_ast_with_scope::<Dynamic>(&mut scope, &ast)
        });
        let mut report = self.ctx.take_report();
        report.playbook = name.to_string();
        match outcome {
            Ok(v) => {
                if keep_value && !v.is_unit() {
                    report.value = Some(script::to_json(&v));
                }
            }
            Err(e) => report.fail(errors::describe(&e, name, source)),
        }
        report.targets = self.target_infos();
        report
    }

    /// Each target's address and, when reachable, its version.
    fn target_infos(&self) -> Vec<TargetInfo> {
        let versions = self.ctx.versions();
        self.ctx
            .client
            .targets()
            .iter()
            .map(|t| TargetInfo {
                version: versions.get(&t.name()).cloned(),
                address: match t.host_name() {
                    Some(_) => t.address.to_string(),
                    None => t.name(),
                },
                host: t.host_name().map(str::to_string),
                error: None,
            })
            .collect()
    }

    /// Ask every target for its version (for banners).
    pub fn probe_targets(&self) -> Vec<TargetInfo> {
        let cmd = crate::runtime::Command::show_info();
        let results = self
            .ctx
            .block_on(async { Ok(self.ctx.client.send_all(&cmd).await) })
            .unwrap_or_default();
        results
            .into_iter()
            .zip(self.ctx.client.targets())
            .map(|((name, r), t)| {
                let host = t.host_name().map(str::to_string);
                let address = match host {
                    Some(_) => t.address.to_string(),
                    None => name,
                };
                match r {
                    Ok(text) => TargetInfo {
                        version: crate::runtime::info::parse_info(&text).ok().and_then(|p| {
                            p.into_iter().find(|(k, _)| k == "Version").map(|(_, v)| v)
                        }),
                        address,
                        host,
                        error: None,
                    },
                    Err(e) => TargetInfo {
                        address,
                        host,
                        version: None,
                        error: Some(e.to_string()),
                    },
                }
            })
            .collect()
    }
}

pub(crate) fn compile(
    engine: &Engine,
    name: &str,
    source: &str,
) -> std::result::Result<AST, Box<rhai::EvalAltResult>> {
    let mut ast = engine
        .compile(source)
        .map_err(|e| Box::new(rhai::EvalAltResult::ErrorParsing(*e.0, e.1)))?;
    ast.set_source(name);
    Ok(ast)
}
