//! The state a run shares with every primitive: settings, sockets, the report
//! being built, the sink, cancellation and the write path.

mod batch;
mod guard;
mod rolling;
pub use batch::{BatchOutcome, OnRefusal};
pub use rolling::{Group, GroupGuard, Plan};

use crate::actions::journal::{Journal, ServerSnapshot};
use crate::actions::rotation::{light_header, light_line, takes_out, Light};
use crate::base::cancel::CancelToken;
use crate::base::error::{Error, Result};
use crate::base::report::{Finding, Report, Severity, Table};
use crate::base::sink::{Confirm, Event, Sink, WriteNotice};
use crate::runtime::replay::Bundle;
use crate::runtime::ssh::Remote;
use crate::runtime::{Client, Command, ServerRef};
use crate::script::params::Contract;
use crate::script::settings::Settings;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Instant;

/// Backend and server names seen on the live process, for REPL completion.
/// Filled by `stat()`/`servers()`; completion reads it and never does I/O.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    pub backends: BTreeSet<String>,
    pub frontends: BTreeSet<String>,
    pub servers: BTreeMap<String, BTreeSet<String>>,
}

pub struct Ctx {
    pub settings: Settings,
    /// The runtime primitives block on. `Runtime::block_on` (not a handle's)
    /// so a current-thread runtime drives its own I/O without a second thread.
    pub rt: Arc<tokio::runtime::Runtime>,
    pub client: Client,
    pub cancel: CancelToken,
    deadline: Mutex<Option<Instant>>,
    report: Mutex<Report>,
    sink: Arc<dyn Sink>,
    confirm: Option<Arc<dyn Confirm>>,
    journal: OnceLock<std::result::Result<Journal, String>>,
    confirmed: AtomicBool,
    /// Backups and track chains per target, read once per run for the guard
    /// (configuration: they do not change at runtime).
    topologies: Mutex<HashMap<String, Arc<crate::actions::rotation::Topology>>>,
    /// The latest `show servers state <bk>` seen per target: the view the
    /// guard of single writes judges on while it is fresh (see `guard.rs`).
    seen: Mutex<HashMap<String, guard::Seen>>,
    /// `show cli level` per target, read when a refusal needs it.
    levels: Mutex<HashMap<String, Option<String>>>,
    pub catalog: RwLock<Catalog>,
    /// Only the REPL completes names: playbook runs skip building the catalog.
    pub track_catalog: AtomicBool,
    playbook: Mutex<String>,
    /// What `param()` may read in this run (`begin_run`: ad hoc, as `-e`
    /// and REPL lines; a playbook run sets its header's declarations).
    params: Mutex<Contract>,
    versions: Mutex<BTreeMap<String, String>>,
    /// Configurations loaded in this run (cleared by `begin_run`).
    models: Mutex<Vec<CachedModel>>,
    /// Directories `bundle()` created with this Ctx: the only ones `save()` writes into.
    bundles: Mutex<BTreeSet<std::path::PathBuf>>,
    /// The snapshot bundle this run replays (`-s replay@DIR`), if any.
    replay: Option<Arc<Bundle>>,
    /// The group of a rolling change being written, if one is.
    scope: Mutex<Option<rolling::Scope>>,
    /// The hosts whose files the checks read (see [`Ctx::check_hosts`]).
    check_hosts: OnceLock<Vec<Arc<CheckHost>>>,
    /// The configuration files of this run (see [`Ctx::config_paths`]).
    config_paths: OnceLock<Vec<std::path::PathBuf>>,
    /// The host a per-host loop is on, per thread: hosts are checked on
    /// several threads at once (see [`Ctx::on_host`]).
    scoped_host: Mutex<HashMap<std::thread::ThreadId, Arc<CheckHost>>>,
}

/// A configuration loaded in this run: its host (`None`: this machine),
/// its paths, the model.
type CachedModel = (
    Option<String>,
    Vec<std::path::PathBuf>,
    crate::config::model::LoadedModel,
);

/// A host the configuration, rsyslog and host checks read: this machine,
/// or one reached over SSH (its master connection, or why it failed).
pub struct CheckHost {
    /// The host as findings name it (`target`); `None` for this machine.
    pub name: Option<String>,
    pub access: std::result::Result<crate::system::access::Access, Error>,
}

impl CheckHost {
    /// The host as `check_hosts()` and error messages name it:
    /// `localhost` for this machine.
    pub fn shown_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| "localhost".into())
    }
}

/// One SSH host's login: its master, or why not; `None` when its task did
/// not finish (the wait for the logins stopped).
type Login = Option<Result<crate::runtime::ssh::Master>>;

/// A moment of a run, to measure a rate window from (see [`Ctx::mark`]).
pub struct Mark {
    at: Instant,
    /// Replay: each target's position in its recorded `show stat` samples.
    replay: Vec<(String, f64)>,
}

/// The check host a target is on, as findings name it: `None` for this
/// machine; for a target over SSH the inventory host, else its `ssh://`
/// address (its findings then sit with its others).
fn check_host_name(t: &crate::runtime::Target) -> Option<String> {
    match &t.address {
        crate::runtime::Address::Ssh(_) => Some(
            t.host_name()
                .map(str::to_string)
                .unwrap_or_else(|| t.address.to_string()),
        ),
        _ => None,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Ctx {
    pub fn new(
        settings: Settings,
        rt: Arc<tokio::runtime::Runtime>,
        cancel: CancelToken,
        sink: Arc<dyn Sink>,
        confirm: Option<Arc<dyn Confirm>>,
    ) -> Ctx {
        let client = Client::new(
            settings.targets(),
            settings.io_timeout,
            settings.max_reply_bytes,
            settings.max_parallel,
            settings.read_only,
        );
        // A master CLI becomes its current workers before the run starts, so
        // every primitive fans out to them like to any other targets. Only
        // outside a runtime: `block_on` inside one would panic.
        let client = if client.has_masters() && tokio::runtime::Handle::try_current().is_err() {
            rt.block_on(client.expand_masters())
        } else {
            client
        };
        Ctx {
            settings,
            rt,
            client,
            cancel,
            deadline: Mutex::new(None),
            report: Mutex::new(Report::default()),
            sink,
            confirm,
            journal: OnceLock::new(),
            confirmed: AtomicBool::new(false),
            topologies: Mutex::new(HashMap::new()),
            seen: Mutex::new(HashMap::new()),
            levels: Mutex::new(HashMap::new()),
            catalog: RwLock::new(Catalog::default()),
            track_catalog: AtomicBool::new(false),
            playbook: Mutex::new(String::new()),
            params: Mutex::new(Contract::AdHoc),
            versions: Mutex::new(BTreeMap::new()),
            models: Mutex::new(Vec::new()),
            bundles: Mutex::new(BTreeSet::new()),
            replay: None,
            scope: Mutex::new(None),
            check_hosts: OnceLock::new(),
            config_paths: OnceLock::new(),
            scoped_host: Mutex::new(HashMap::new()),
        }
    }

    /// Serve this run from a snapshot bundle instead of live sockets.
    pub fn with_replay(mut self, bundle: Arc<Bundle>) -> Ctx {
        self.client = Client::replay(&bundle);
        self.replay = Some(bundle);
        self
    }

    /// The bundle this run replays, if it does.
    pub fn replay(&self) -> Option<&Arc<Bundle>> {
        self.replay.as_ref()
    }

    /// The refusal of any write while replaying.
    fn refuse_replay(&self, what: impl std::fmt::Display) -> Result<()> {
        match &self.replay {
            Some(b) => Err(Error::Refused {
                reason: format!(
                    "replay bundle {} is read-only: {what} (a replay serves recorded replies; run it against a live HAProxy)",
                    b.dir().display()
                ),
            }),
            None => Ok(()),
        }
    }

    /// Now, to measure a rate window from with [`Ctx::seconds_since`].
    pub fn mark(&self) -> Mark {
        Mark {
            at: Instant::now(),
            replay: self
                .client
                .targets()
                .iter()
                .filter_map(|t| t.replay().map(|r| (t.name(), r.stat_seconds())))
                .collect(),
        }
    }

    /// Seconds between `mark` and now for `target`'s counters: the clock of
    /// a live run, the recorded interval between the `show stat` samples
    /// served in a replay (0 when both reads were the same sample).
    pub fn seconds_since(&self, mark: &Mark, target: &str) -> f64 {
        let replayed = self
            .client
            .targets()
            .iter()
            .find(|t| t.name() == target)
            .and_then(|t| t.replay());
        match (replayed, mark.replay.iter().find(|(t, _)| t == target)) {
            (Some(r), Some((_, then))) => (r.stat_seconds() - then).max(0.0),
            _ => mark.at.elapsed().as_secs_f64(),
        }
    }

    /// Start a fresh report (and deadline) for a new run.
    pub fn begin_run(&self, playbook: &str) {
        *lock(&self.report) = Report {
            playbook: playbook.to_string(),
            ..Report::default()
        };
        *lock(&self.playbook) = playbook.to_string();
        *lock(&self.params) = Contract::AdHoc;
        *lock(&self.deadline) = self.settings.max_time.map(|d| Instant::now() + d);
        self.confirmed.store(false, Ordering::SeqCst);
        lock(&self.topologies).clear();
        lock(&self.seen).clear();
        lock(&self.levels).clear();
        // A REPL line is a run: a configuration edited meanwhile is read again.
        lock(&self.models).clear();
    }

    /// Hold this run's `param()` reads to `contract` (after `begin_run`).
    pub fn set_param_contract(&self, contract: Contract) {
        *lock(&self.params) = contract;
    }

    /// Why this run may not read parameter `name`, or None when it may.
    pub fn refuse_param_read(&self, name: &str) -> Option<String> {
        lock(&self.params).refuse_read(name)
    }

    /// The configuration loaded from `paths` on `host` earlier in this run.
    pub(crate) fn cached_model(
        &self,
        host: Option<&str>,
        paths: &[std::path::PathBuf],
    ) -> Option<crate::config::model::LoadedModel> {
        lock(&self.models)
            .iter()
            .find(|(h, p, _)| h.as_deref() == host && p.as_slice() == paths)
            .map(|(_, _, m)| m.clone())
    }

    pub(crate) fn cache_model(
        &self,
        host: Option<&str>,
        paths: &[std::path::PathBuf],
        model: crate::config::model::LoadedModel,
    ) {
        lock(&self.models).push((host.map(str::to_string), paths.to_vec(), model));
    }

    /// The hosts whose files the checks read, in target order: this
    /// machine when a target is local (or there is none), then each host
    /// an `ssh://` target is on, once per host, logged in to (its master)
    /// the first time this is asked. A host whose login failed is listed
    /// with its error: the others go on.
    pub fn check_hosts(&self) -> Vec<Arc<CheckHost>> {
        self.check_hosts
            .get_or_init(|| {
                let mut out: Vec<Arc<CheckHost>> = self.local_check_host().into_iter().collect();
                let remotes = self.ssh_logins();
                let (logins, stopped) = self.log_in(&remotes);
                // Whether each account's shell runs commands as asked is
                // learnt from its first batch, or asked before its first
                // other command (`Access::canary`): not a command of its own.
                for ((name, remote), login) in remotes.into_iter().zip(logins) {
                    out.push(self.ssh_check_host(name, &remote, login, stopped.as_deref()));
                }
                out
            })
            .clone()
    }

    /// This machine, when a target is on it (or there is no target).
    fn local_check_host(&self) -> Option<Arc<CheckHost>> {
        let targets = self.client.targets();
        let local = targets.is_empty()
            || targets
                .iter()
                .any(|t| !matches!(t.address, crate::runtime::Address::Ssh(_)));
        local.then(|| {
            Arc::new(CheckHost {
                name: None,
                access: Ok(crate::system::access::Access::Local),
            })
        })
    }

    /// Each SSH login the targets need, once (user, host, port and the
    /// host's ssh options), in target order, with its check host's name.
    fn ssh_logins(&self) -> Vec<(String, Remote)> {
        let mut seen: Vec<Remote> = Vec::new();
        let mut remotes = Vec::new();
        for t in self.client.targets() {
            let crate::runtime::Address::Ssh(remote) = &t.address else {
                continue;
            };
            let key = remote.login();
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            let name = check_host_name(t).unwrap_or_default();
            remotes.push((name, remote.clone()));
        }
        remotes
    }

    /// Log in to every host of `remotes` at once, --forks at a time (a
    /// login is mostly waiting on the network and the host's CPU): each
    /// one's master, or `None` when its task did not finish, with why the
    /// whole wait stopped (Ctrl-C, the run's deadline) when it did.
    fn log_in(&self, remotes: &[(String, Remote)]) -> (Vec<Login>, Option<String>) {
        let io = self.settings.io_timeout;
        let limit = Arc::new(tokio::sync::Semaphore::new(
            self.settings.max_parallel.max(1),
        ));
        let mut logins: Vec<Login> = (0..remotes.len()).map(|_| None).collect();
        let done = self.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (i, (_, remote)) in remotes.iter().enumerate() {
                let remote = remote.clone();
                let limit = Arc::clone(&limit);
                set.spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    let bound = crate::runtime::ssh::login_bound_of(&remote, io);
                    let deadline = tokio::time::Instant::now() + bound;
                    (i, crate::runtime::ssh::master(&remote, io, deadline).await)
                });
            }
            let mut v = Vec::new();
            while let Some(joined) = set.join_next().await {
                if let Ok(r) = joined {
                    v.push(r);
                }
            }
            Ok(v)
        });
        let stopped = match done {
            Ok(v) => {
                for (i, r) in v {
                    logins[i] = Some(r);
                }
                None
            }
            Err(e) => Some(e.to_string()),
        };
        (logins, stopped)
    }

    /// An SSH host as the checks reach it: over its master once logged
    /// in, else with the error of its login (or of the wait for it).
    fn ssh_check_host(
        &self,
        name: String,
        remote: &Remote,
        login: Login,
        stopped: Option<&str>,
    ) -> Arc<CheckHost> {
        let access = match login {
            Some(Ok(master)) => Ok(crate::system::access::Access::Ssh {
                name: name.clone(),
                master,
                timeout: self
                    .settings
                    .io_timeout
                    .max(std::time::Duration::from_secs(5)),
                prefetched: Default::default(),
                shell: Default::default(),
            }),
            Some(Err(e)) => Err(e),
            None => Err(Error::Ssh {
                target: remote.to_string(),
                what: stopped
                    .map(str::to_string)
                    .unwrap_or_else(|| "the SSH login task failed".into()),
            }),
        };
        Arc::new(CheckHost {
            name: Some(name),
            access,
        })
    }

    /// The targets on `host` (its admin sockets and workers): whose `show
    /// info` speaks for that host.
    pub(crate) fn targets_on(&self, host: &CheckHost) -> Vec<Arc<crate::runtime::Target>> {
        self.client
            .targets()
            .iter()
            .filter(|t| check_host_name(t) == host.name)
            .cloned()
            .collect()
    }

    /// The host a per-host loop is on, on this thread, if one is.
    pub(crate) fn scoped_check_host(&self) -> Option<Arc<CheckHost>> {
        lock(&self.scoped_host)
            .get(&std::thread::current().id())
            .cloned()
    }

    /// Run `f` with the checks on `host` (a per-host loop of a primitive),
    /// on this thread: other threads may be on other hosts meanwhile.
    pub(crate) fn on_host<T>(&self, host: &Arc<CheckHost>, f: impl FnOnce() -> T) -> T {
        let me = std::thread::current().id();
        let before = lock(&self.scoped_host).insert(me, Arc::clone(host));
        let out = f();
        let mut scoped = lock(&self.scoped_host);
        match before {
            Some(b) => scoped.insert(me, b),
            None => scoped.remove(&me),
        };
        out
    }

    /// The host the checks read now: the one a per-host loop is on, else
    /// the run's only host. `Err` with every host's name when the run
    /// reaches several (a primitive that returns one host's facts must not
    /// pick one in silence).
    pub(crate) fn check_host(&self) -> std::result::Result<Arc<CheckHost>, Vec<String>> {
        if let Some(h) = lock(&self.scoped_host)
            .get(&std::thread::current().id())
            .cloned()
        {
            return Ok(h);
        }
        let hosts = self.check_hosts();
        if hosts.len() == 1 {
            return Ok(Arc::clone(&hosts[0]));
        }
        Err(hosts.iter().map(|h| h.shown_name()).collect())
    }

    /// End of a run: the report, and the journal synced to disk.
    pub fn take_report(&self) -> Report {
        if let Some(Ok(j)) = self.journal.get() {
            let _ = j.sync();
        }
        std::mem::take(&mut *lock(&self.report))
    }

    pub fn with_report<R>(&self, f: impl FnOnce(&mut Report) -> R) -> R {
        f(&mut lock(&self.report))
    }

    /// Why the run must stop now, if it must (Ctrl-C or `--max-time`).
    pub fn stop_reason(&self) -> Option<Error> {
        if self.cancel.is_cancelled() {
            return Some(Error::Interrupted);
        }
        let deadline = *lock(&self.deadline);
        match (deadline, self.settings.max_time) {
            (Some(d), Some(max)) if Instant::now() >= d => Some(Error::DeadlineExceeded(max)),
            _ => None,
        }
    }

    /// Run async I/O from a (synchronous) primitive, bounded by Ctrl-C and the
    /// run's deadline: Rhai's progress callback cannot fire while we block here.
    pub fn block_on<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        if let Some(e) = self.stop_reason() {
            return Err(e);
        }
        let deadline = *lock(&self.deadline);
        let max = self.settings.max_time.unwrap_or_default();
        self.rt.block_on(async {
            let expire = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => Err(Error::Interrupted),
                _ = expire => Err(Error::DeadlineExceeded(max)),
                r = fut => r,
            }
        })
    }

    /// Run an exchange that carries a write to its end: Ctrl-C and the
    /// deadline are checked before it starts, not during it (the I/O
    /// timeout still bounds it), so its outcome can be journaled.
    fn block_on_to_completion<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        if let Some(e) = self.stop_reason() {
            return Err(e);
        }
        self.rt.block_on(fut)
    }

    /// Sleep that Ctrl-C and the deadline interrupt. The journal is synced
    /// first: a wait (a drain poll) is when a kill would otherwise find
    /// recent entries only in the page cache.
    pub fn sleep(&self, d: std::time::Duration) -> Result<()> {
        // A replay does not wait: the next reads move to the next recorded
        // sample, as if the time had passed.
        if self.replay.is_some() {
            if let Some(e) = self.stop_reason() {
                return Err(e);
            }
            self.client.note_sleep();
            return Ok(());
        }
        if let Some(Ok(j)) = self.journal.get() {
            let _ = j.sync();
        }
        self.block_on(async {
            tokio::time::sleep(d).await;
            Ok(())
        })
    }

    pub fn emit(&self, event: Event<'_>) {
        self.sink.event(event);
    }

    /// Tell the sink about a write and keep it in the report.
    fn notice_write(&self, target: &str, command: &Command, outcome: &str, error: Option<&Error>) {
        let group = self.group_notice();
        let index = group.as_ref().map(|(i, _, _)| *i);
        self.sink.event(Event::Write(&WriteNotice {
            target: target.to_string(),
            command: command.to_string(),
            outcome: outcome.to_string(),
            group,
        }));
        lock(&self.report)
            .writes
            .push(crate::base::report::WriteRecord {
                target: target.to_string(),
                command: command.to_string(),
                outcome: outcome.to_string(),
                error: error.map(|e| e.to_string()),
                group: index,
            });
    }

    /// Remember a target's HAProxy version (from `show info`) for the report.
    pub fn note_version(&self, target: &str, version: &str) {
        lock(&self.versions).insert(target.to_string(), version.to_string());
    }

    pub fn versions(&self) -> BTreeMap<String, String> {
        lock(&self.versions).clone()
    }

    /// Remember a directory `bundle()` created (its canonical path).
    pub fn note_bundle(&self, dir: std::path::PathBuf) {
        lock(&self.bundles).insert(dir);
    }

    /// Whether `dir` (canonical) was created by `bundle()` with this Ctx.
    pub fn owns_bundle(&self, dir: &std::path::Path) -> bool {
        lock(&self.bundles).contains(dir)
    }

    /// The findings recorded so far in this run.
    pub fn findings(&self) -> Vec<Finding> {
        lock(&self.report).findings.clone()
    }

    pub fn print(&self, line: &str) {
        self.sink.event(Event::Print(line));
        lock(&self.report).output.push(line.to_string());
    }

    /// The configuration files this run reads: `-c`, or, when none was
    /// given and the one target is a local socket, the `-f` arguments of the
    /// process behind it (the default /etc/haproxy/haproxy.cfg may be
    /// another HAProxy's). Found once per run; a `config.source` finding
    /// says which files were used and why, or why the default was.
    pub fn config_paths(&self) -> Vec<std::path::PathBuf> {
        self.config_paths
            .get_or_init(|| {
                let given = self.settings.config_paths.clone();
                if !self.settings.config_from_process || self.replay.is_some() {
                    return given;
                }
                let targets = self.client.targets();
                let [target] = targets else { return given };
                if !matches!(target.address, crate::runtime::Address::Unix(_)) {
                    return given;
                }
                let shown = |paths: &[std::path::PathBuf]| {
                    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
                };
                let found = self
                    .block_on(async { target.send(&crate::runtime::Command::show_info()).await })
                    // The error itself is the run's to report, once.
                    .map_err(|e| format!("the socket did not answer `show info` ({})", e.kind()))
                    .and_then(|info| {
                        crate::runtime::info::process_of(&info)
                            .pid
                            .and_then(|p| p.parse::<u32>().ok())
                            .ok_or_else(|| "`show info` gave no Pid".to_string())
                    })
                    .and_then(crate::config::source::of_process);
                match found {
                    Ok(pc) => {
                        self.add_finding(
                            Finding::new(
                                Severity::Info,
                                "config.source",
                                format!("configuration read: {}", shown(&pc.paths)),
                            )
                            .detail(format!("no -c given: {}", pc.why))
                            .advice("pass -c PATH (or HARUN_CONFIG) to check other files"),
                        );
                        pc.paths
                    }
                    Err(why) => {
                        self.add_finding(
                            Finding::new(
                                Severity::Warning,
                                "config.source",
                                format!("configuration read: {} (the default; may not be what {} runs)", shown(&given), target.name()),
                            )
                            .detail(format!("no -c given, and the running process's configuration could not be found: {why}"))
                            .advice("pass the files HAProxy runs with -c PATH (or HARUN_CONFIG): see the -f arguments of `ps -o args -C haproxy` or its systemd unit"),
                        );
                        given
                    }
                }
            })
            .clone()
    }

    pub fn add_finding(&self, finding: Finding) {
        self.sink.event(Event::Finding(&finding));
        lock(&self.report).push_finding(finding);
    }

    pub fn add_table(&self, table: Table) {
        self.sink.event(Event::Table(&table));
        lock(&self.report).tables.push(table);
    }

    fn journal(&self) -> Result<&Journal> {
        let j = self
            .journal
            .get_or_init(|| Journal::open(&self.settings.journal_path).map_err(|e| e.to_string()));
        j.as_ref().map_err(|e| Error::Refused {
            reason: format!("the audit journal cannot be written ({e}); pass --journal PATH"),
        })
    }

    /// The running playbook, for the journal.
    fn playbook_name(&self) -> Option<String> {
        Some(lock(&self.playbook).clone()).filter(|p| !p.is_empty())
    }

    fn journal_note(&self, target: &str, command: &Command, outcome: &str, error: Option<String>) {
        if let Ok(j) = self.journal() {
            let mut e = j.entry(target, command.as_str(), outcome);
            e.error = error;
            e.playbook = self.playbook_name();
            let _ = j.record(&e);
        }
    }

    /// The one path every write takes: read-only, last-server guard, dry-run,
    /// confirmation, then send to every target with the journal written
    /// before the next command goes out.
    ///
    /// Returns the reply per target. With `force`, the last-server guard is off
    /// for this call.
    pub fn write(&self, command: &Command, force: bool) -> Result<Vec<(String, Result<String>)>> {
        Ok(self
            .write_detailed(command, force)?
            .into_iter()
            .map(|w| (w.target, w.reply))
            .collect())
    }

    /// [`Ctx::write`] with the server's state before and after, per target.
    ///
    /// Cost: one round trip per target for a command about a server: the
    /// command pipelined with `show servers state <bk>` after it (and before
    /// it, unless the guard just judged on that state). A command that may
    /// take a server out (drain, maint, weight 0, ...) is judged by the
    /// guard on the run's view of its backend when that view is fresh (read
    /// or refreshed by a write within the last 100 ms, as in a loop of
    /// writes), else on a read of its own (one more round trip; from the
    /// fourth such read of a run, one `show servers state` of every backend
    /// refreshes the whole view). Once per run, `show stat -1 4 -1` gives
    /// the guard the backups and `track` chains. Many servers at once:
    /// [`Ctx::write_many`].
    /// The names `command` writes to, on every target of the run that
    /// answers, whatever group of a rolling change is being written (see
    /// `check_names`).
    pub fn check_names_everywhere(&self, command: &Command) -> Result<()> {
        self.check_names(&self.client, command, true)
    }

    pub fn write_detailed(&self, command: &Command, force: bool) -> Result<Vec<WriteOutcome>> {
        self.refuse_replay(format_args!("`{command}` was not sent"))?;
        // A group of a rolling change, or every target.
        let client = self.scoped_client();
        let targets: Vec<String> = client.targets().iter().map(|t| t.name()).collect();
        if targets.is_empty() {
            return Err(Error::NoTarget);
        }
        if self.settings.read_only {
            return Err(self.refuse_read_only(
                &targets,
                std::slice::from_ref(command),
                format!("`{command}` was not sent"),
            ));
        }
        // Names HAProxy does not have are refused here, before anything
        // is judged, shown or sent.
        self.check_names(&client, command, false)?;
        let server = command.server_ref();
        // State before, per target, when the guard (or dry-run) already read it.
        let mut before: Vec<Option<Snapshot>> = vec![None; targets.len()];
        let mut serving_before: Vec<guard::Serving> = vec![Vec::new(); targets.len()];
        let guarded = takes_out(command).filter(|_| !(force || self.settings.force));
        if let Some(s) = &guarded {
            (before, serving_before) = self.last_server_guard(s, command)?;
        } else if self.settings.dry_run || self.needs_confirmation() {
            // Read before showing or asking, so a missing server is caught first.
            if let Some(s) = &server {
                before = self.read_snapshots(s)?;
            }
        }
        if server.is_some() {
            // A server the backend does not have: say so before sending anything,
            // in dry-run too.
            if let Some((i, _)) = before
                .iter()
                .enumerate()
                .find(|(_, b)| matches!(b, Some(Snapshot::Missing)))
            {
                return Err(Error::NoSuchServer {
                    target: targets[i].clone(),
                    command: command.to_string(),
                    note: String::new(),
                });
            }
        }
        if self.settings.dry_run {
            let planned = targets
                .iter()
                .zip(before)
                .map(|(t, b)| {
                    (
                        t.clone(),
                        command,
                        server.clone(),
                        b.and_then(Snapshot::into_json),
                    )
                })
                .collect();
            return Ok(self.dry_run(planned));
        }
        if self.needs_confirmation() {
            self.confirm_writes(
                &targets,
                std::slice::from_ref(command),
                format!("`{command}` changes"),
            )?;
            // The operator took their time and the backend may have changed
            // meanwhile: check the guard again (it reads the state before too).
            (before, serving_before) = match &guarded {
                Some(s) => self.last_server_guard(s, command)?,
                None => (vec![None; targets.len()], vec![Vec::new(); targets.len()]),
            };
        }
        let journal = self.journal()?;
        // Servers added or removed at runtime (`track` may come with them):
        // the guard reads the configuration's topology again.
        let w: Vec<&str> = command.as_str().splitn(3, ' ').collect();
        if matches!(w.as_slice(), ["add" | "del", "server", ..]) {
            lock(&self.topologies).clear();
            lock(&self.seen).clear();
        }
        let mut out = Vec::new();
        let mut emptied = None;
        for ((target, known_before), serving_before) in
            client.targets().iter().zip(before).zip(serving_before)
        {
            let name = target.name();
            // The state after of every backend the write may change (its
            // own, and those of the servers that track it), read in the
            // same round trip; the state before too unless the guard just
            // judged on it or the view has it fresh.
            // Unguarded, the state before comes from the run's view when it
            // is fresh (a loop of writes keeps it so), saving a read.
            let known = known_before.and_then(Snapshot::into_json).or_else(|| {
                let s = server.as_ref()?;
                let text = self.fresh_state(&name, &s.backend)?;
                snapshot_of(&text, &s.server).into_json()
            });
            let (shows, read_before) = match &server {
                Some(s) => {
                    let backends = match lock(&self.topologies).get(&name) {
                        Some(t) => t.backends_for([s]),
                        None => vec![s.backend.clone()],
                    };
                    let shows = backends
                        .iter()
                        .map(|b| Command::show_servers_state(Some(b)))
                        .collect::<Result<Vec<Command>>>()?;
                    (shows, known.is_none())
                }
                None => (Vec::new(), false),
            };
            let mut cmds: Vec<&Command> = Vec::with_capacity(shows.len() + 2);
            if read_before {
                cmds.push(&shows[0]);
            }
            cmds.push(command);
            cmds.extend(&shows);
            let mut intent = journal.intent(&name, command.as_str());
            intent.before = known.clone();
            intent.playbook = self.playbook_name();
            // Journaled before it goes out: a harun killed while HAProxy
            // works on it still leaves the command in the journal.
            journal.record(&intent)?;
            // Once it starts the exchange runs to its end (bounded by
            // --timeout), so a write HAProxy received is always journaled,
            // even on Ctrl-C.
            let replies = self.block_on_to_completion(async {
                Ok(match &server {
                    Some(_) => target.send_batch(&cmds).await,
                    // No state to read around it: sent as any command is,
                    // on a connection of its own when its reply is free-form.
                    None => target.send(command).await.map(|r| vec![Ok(r)]),
                })
            })?;
            let (before, reply, after) = match replies {
                Err(e) => (known, Err(e), None),
                Ok(replies) => {
                    let mut replies = replies.into_iter();
                    let before = if read_before {
                        replies
                            .next()
                            .and_then(|r| r.ok())
                            .and_then(|t| snapshot_of(&t, &server.as_ref()?.server).into_json())
                    } else {
                        known
                    };
                    let reply = replies.next().unwrap_or_else(|| {
                        Err(Error::Other("missing reply in a pipelined exchange".into()))
                    });
                    let mut after = None;
                    let mut after_states = guard::States::new();
                    for (show, text) in shows.iter().zip(replies) {
                        let (Ok(text), Some(s)) = (text, &server) else {
                            continue;
                        };
                        let text: Arc<str> = Arc::from(text);
                        let backend = show.as_str().rsplit(' ').next().unwrap_or_default();
                        if backend == s.backend && reply.is_ok() {
                            after = snapshot_of(&text, &s.server).into_json();
                        }
                        self.remember_state(&name, backend, &text);
                        after_states.insert(backend.to_string(), text);
                    }
                    let gone = self.emptied(&name, &serving_before, &after_states);
                    if !gone.is_empty() && emptied.is_none() {
                        emptied = Some(Error::Emptied {
                            target: name.clone(),
                            detail: format!(
                                "backend `{}` has no server in rotation after `{command}`: the guard judged it on state read moments before, and meanwhile something else (another operator, a health check, an agent) took out the servers it counted on. Put one back now, e.g. set_state(\"{}\", \"ready\")",
                                gone.join("`, `"),
                                server.as_ref().map(|s| s.to_string()).unwrap_or_default()
                            ),
                        });
                    }
                    (before, reply, after)
                }
            };
            // A timeout or a lost connection after the command went out: HAProxy
            // may have applied it.
            let outcome = batch::outcome_of(&reply);
            let mut e = journal.outcome(&intent, outcome);
            e.before = before.clone();
            e.after = after.clone();
            match &reply {
                Ok(r) => e.reply = Some(r.trim_end().to_string()),
                Err(err) => e.error = Some(err.to_string()),
            }
            journal.record(&e)?;
            self.notice_write(&name, command, outcome, reply.as_ref().err());
            out.push(WriteOutcome {
                target: name,
                server: server.clone(),
                command: command.to_string(),
                outcome,
                reply,
                before,
                after,
            });
        }
        match emptied {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    fn needs_confirmation(&self) -> bool {
        !self.settings.yes && !self.confirmed.load(Ordering::SeqCst)
    }

    /// `--dry-run`: each (target, command, server, state before) shown and
    /// journaled (one `write(2)`), nothing sent.
    fn dry_run(
        &self,
        planned: Vec<(String, &Command, Option<ServerRef>, Option<ServerSnapshot>)>,
    ) -> Vec<WriteOutcome> {
        let mut entries = Vec::new();
        let mut out = Vec::with_capacity(planned.len());
        for (target, command, server, before) in planned {
            self.notice_write(&target, command, "dry-run", None);
            if let Ok(j) = self.journal() {
                let mut e = j.entry(&target, command.as_str(), "dry-run");
                e.before = before.clone();
                e.playbook = self.playbook_name();
                entries.push(e);
            }
            out.push(WriteOutcome {
                target,
                server,
                command: command.to_string(),
                outcome: "dry-run",
                reply: Ok(String::new()),
                before,
                after: None,
            });
        }
        if let Ok(j) = self.journal() {
            let _ = j.record_all(&entries);
        }
        out
    }

    /// `--read-only`: every command journaled as refused (one `write(2)`),
    /// and the error. `what` says what was not sent.
    fn refuse_read_only(&self, targets: &[String], commands: &[Command], what: String) -> Error {
        if let Ok(j) = self.journal() {
            let entries: Vec<_> = targets
                .iter()
                .flat_map(|t| commands.iter().map(move |c| (t, c)))
                .map(|(t, c)| {
                    let mut e = j.entry(t, c.as_str(), "refused");
                    e.error = Some("read-only".into());
                    e.playbook = self.playbook_name();
                    e
                })
                .collect();
            let _ = j.record_all(&entries);
        }
        Error::Refused {
            reason: format!("--read-only is set; {what}"),
        }
    }

    /// Ask once per run, before the first write, listing what will be sent
    /// on which target. `what` starts the message when nobody can be asked
    /// ("`cmd` changes", "the 40 commands of the batch (...) change").
    fn confirm_writes(&self, targets: &[String], commands: &[Command], what: String) -> Result<()> {
        let planned: Vec<String> = self
            .planned_targets(targets)
            .into_iter()
            .flat_map(|t| commands.iter().map(move |c| format!("{t}: {c}")))
            .collect();
        let ok = match &self.confirm {
            Some(c) => c.confirm(&planned),
            None => {
                return Err(Error::Refused {
                    reason: format!(
                        "{what} HAProxy's state and there is no terminal to confirm on: pass --yes (or --dry-run to see the commands)"
                    ),
                })
            }
        };
        if !ok {
            return Err(Error::Refused {
                reason: "not confirmed".into(),
            });
        }
        self.confirmed.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// `show servers state <bk>` on every target, reduced to one server.
    fn read_snapshots(&self, server: &ServerRef) -> Result<Vec<Option<Snapshot>>> {
        let cmd = Command::show_servers_state(Some(&server.backend))?;
        let client = self.scoped_client();
        let results = self.block_on(async { Ok(client.send_all(&cmd).await) })?;
        Ok(results
            .into_iter()
            .map(|(_, r)| r.ok().map(|t| snapshot_of(&t, &server.server)))
            .collect())
    }
}

/// What one write did on one target.
#[derive(Debug)]
pub struct WriteOutcome {
    pub target: String,
    /// The server the command names, if it names one.
    pub server: Option<ServerRef>,
    pub command: String,
    /// `sent`, `failed`, `unknown` (no reply after sending) or `dry-run`.
    pub outcome: &'static str,
    pub reply: Result<String>,
    /// The server's state (see the journal's `before`/`after`), when the command names one.
    pub before: Option<ServerSnapshot>,
    pub after: Option<ServerSnapshot>,
}

/// A server's state as read from `show servers state <bk>`.
#[derive(Clone, Debug)]
enum Snapshot {
    Found(ServerSnapshot),
    /// The backend answered and has no such server.
    Missing,
    /// The reply did not parse.
    Unknown,
}

impl Snapshot {
    fn into_json(self) -> Option<ServerSnapshot> {
        match self {
            Snapshot::Found(v) => Some(v),
            _ => None,
        }
    }
}

impl Snapshot {
    /// A server's line, as JSON for the journal (`Missing` when absent).
    fn of(line: Option<&Light>) -> Snapshot {
        match line {
            Some(l) => Snapshot::Found(ServerSnapshot::new(l.op, l.admin, l.weight)),
            None => Snapshot::Missing,
        }
    }
}

/// The server's line of a `show servers state` reply, stopping at that line.
fn snapshot_of(text: &str, server: &str) -> Snapshot {
    let Some((columns, lines)) = light_header(text) else {
        return Snapshot::Unknown;
    };
    for line in lines {
        match light_line(line, &columns) {
            // A line that does not parse: the reply is not what we think.
            None => return Snapshot::Unknown,
            Some(l) if l.name == server => return Snapshot::of(Some(&l)),
            Some(_) => {}
        }
    }
    Snapshot::Missing
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight\n\
        3 bk 1 s1 127.0.0.1 2 8 1 1\n\
        3 bk 2 s2 127.0.0.1 0 0 50 1\n";

    #[test]
    fn snapshots_read_the_decimal_admin_mask_by_header_name() {
        let Snapshot::Found(v) = snapshot_of(STATE, "s1") else {
            panic!("s1 not found")
        };
        let v = serde_json::to_value(v).unwrap();
        assert_eq!(v["admin_state"], 8);
        assert_eq!(v["drain"], true);
        assert_eq!(v["maint"], false);
        assert_eq!(v["op_state"], "running");
        assert_eq!(v["admin_flags"], serde_json::json!(["FDRAIN"]));
        let Snapshot::Found(v) = snapshot_of(STATE, "s2") else {
            panic!("s2 not found")
        };
        assert_eq!((&*v.op_state, v.weight), ("stopped", Some(50)));
        assert!(matches!(snapshot_of(STATE, "s3"), Snapshot::Missing));
        assert!(matches!(
            snapshot_of("[3]: No such backend.", "s1"),
            Snapshot::Unknown
        ));
        // A backend without servers: a header and no line.
        let empty = STATE.lines().take(2).collect::<Vec<_>>().join("\n");
        assert!(matches!(snapshot_of(&empty, "s1"), Snapshot::Missing));
    }
}
