//! Targets and their persistent sessions, with fan-out to many sockets.

use super::address::Address;
use super::command::Command;
use super::replay::{Bundle, ReplyStore};
use super::session::{Liveness, Session};
use super::stat::{Stat, StatParser};
use crate::base::error::{Error, Result};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinSet;

/// Run `$op` on the target's persistent session, opening it when needed. A
/// session that HAProxy closed while idle (`stats timeout`, reload) is
/// reopened once and `$op` retried: HAProxy saw none of its commands. Any
/// other broken session is dropped and the error reported. (A macro because
/// an async closure borrowing the session is not `Send` for every lifetime.)
macro_rules! with_session {
    ($target:expr, |$s:ident| $op:expr) => {{
        let mut guard = $target.session.lock().await;
        if let Some(e) = $target.known_dead_end() {
            return Err(e);
        }
        if guard.is_none() {
            $target.ssh_login().await?;
        }
        let mut reopened = false;
        // One `--timeout` for the whole operation: the reload check, the
        // connection and its handshake, the command and its complete reply.
        let deadline = tokio::time::Instant::now() + $target.io_timeout;
        loop {
            // The session is taken out while in use: if this future is dropped
            // mid-reply (Ctrl-C, deadline), the half-read session goes with it
            // and the next command starts on a clean one.
            let _ = $target
                .retire_if_stale(&mut guard, RELOAD_CHECK_AFTER, deadline)
                .await;
            // `fresh`: opened for this call; `first`: its first exchange.
            let (mut session, fresh, first) = match guard.take() {
                Some(s) => (s, false, false),
                // Opened at start-up: not fresh, so a connection HAProxy
                // closed meanwhile is opened again once.
                None => match $target.take_preconnected() {
                    Some(s) if !reopened => (s, false, true),
                    _ => match Session::open(
                        &$target.address,
                        $target.io_timeout,
                        $target.max_reply,
                        $target.read_only,
                        deadline,
                    )
                    .await
                    {
                        Ok(s) => (s, true, true),
                        Err(e) => return Err($target.remember_dead_end(e)),
                    },
                },
            };
            session.carry(deadline);
            let $s = &mut session;
            match $op.await {
                Err(e) if !fresh && !reopened && Session::closed_while_idle(&e) => reopened = true,
                Err(e) if first && Session::dead_end(&e).is_some() => {
                    return Err($target.remember_dead_end(e))
                }
                Err(e) if Session::is_broken(&e) => return Err(e),
                other => {
                    session.touch();
                    *guard = Some(session);
                    return other;
                }
            }
        }
    }};
}

/// A kept session idle longer than this is checked before reuse: HAProxy may
/// have reloaded meanwhile, and the old process keeps answering its open CLI
/// sessions while the new one takes the traffic (and has its own states).
const RELOAD_CHECK_AFTER: Duration = Duration::from_secs(1);

/// Where [`Client::preconnect`] stands for one target.
#[derive(Debug, Default)]
enum Preconnect {
    /// Not connected (yet): the first session connects itself.
    #[default]
    None,
    Connecting,
    Ready(super::session::Preconnected),
    /// The first session was opened without it: nothing to connect.
    Passed,
}

/// One HAProxy runtime API socket and the session kept open to it, or the
/// replies a snapshot recorded for one (replay).
pub struct Target {
    pub address: Address,
    name: String,
    /// The inventory host this socket belongs to; it names the target.
    host: Option<String>,
    io_timeout: Duration,
    /// Largest reply accepted, in bytes.
    max_reply: usize,
    /// Sessions are lowered to level `operator` (see [`Session::open`]).
    read_only: bool,
    session: Mutex<Option<Session>>,
    /// The connection [`Client::preconnect`] opens for the first session.
    preconnected: std::sync::Mutex<Preconnect>,
    /// Set when this socket never answered like HAProxy (see
    /// [`Session::dead_end`]), and when: later commands fail at once with
    /// the same error instead of waiting out `--timeout` again (a silent
    /// socket for twice `--timeout`, a foreign one for the run).
    dead_end: std::sync::Mutex<Option<(Error, std::time::Instant)>>,
    replay: Option<Arc<ReplyStore>>,
    /// On a master CLI (`master@`): the worker every command is routed to
    /// with `@!<pid>`; `None` talks to the master itself (`show proc`).
    route: Option<u32>,
}

impl Target {
    pub fn new(address: Address, io_timeout: Duration) -> Target {
        Target {
            name: address.to_string(),
            host: None,
            address,
            io_timeout,
            max_reply: super::session::DEFAULT_MAX_REPLY_BYTES,
            read_only: false,
            session: Mutex::new(None),
            preconnected: Default::default(),
            dead_end: std::sync::Mutex::new(None),
            replay: None,
            route: None,
        }
    }

    /// This master target's worker `pid`, as a target of its own named
    /// `<name> (worker <pid>)`: its rows, errors and journal lines say
    /// which process answered.
    pub fn worker(&self, pid: u32) -> Target {
        self.with_route(Some(pid), format!("{} (worker {pid})", self.name))
    }

    /// An old worker of this master target (still alive after a reload),
    /// named `<name> (old worker <pid>)`.
    pub fn old_worker(&self, pid: u32) -> Target {
        self.with_route(Some(pid), format!("{} (old worker {pid})", self.name))
    }

    fn with_route(&self, route: Option<u32>, name: String) -> Target {
        Target {
            name,
            host: self.host.clone(),
            address: self.address.clone(),
            io_timeout: self.io_timeout,
            max_reply: self.max_reply,
            read_only: self.read_only,
            session: Mutex::new(None),
            preconnected: Default::default(),
            dead_end: std::sync::Mutex::new(None),
            replay: None,
            route,
        }
    }

    /// The session [`Client::preconnect`] opened, while younger than the
    /// reload check's bound (older, HAProxy may have reloaded since: a new
    /// session is opened). After this call nothing is preconnected.
    fn take_preconnected(&self) -> Option<Session> {
        let mut slot = self.preconnected.lock().unwrap_or_else(|e| e.into_inner());
        match std::mem::replace(&mut *slot, Preconnect::Passed) {
            Preconnect::Ready(pre) if pre.age() < RELOAD_CHECK_AFTER => {
                Session::adopt(pre, self.io_timeout, self.max_reply).ok()
            }
            _ => None,
        }
    }

    /// Close the preconnected session if it was not taken.
    fn drop_preconnected(&self) {
        let mut slot = self.preconnected.lock().unwrap_or_else(|e| e.into_inner());
        if let Preconnect::Ready(_) = *slot {
            *slot = Preconnect::Passed;
        }
    }

    /// Connect and send the handshake now, unless the first session was
    /// opened already.
    fn preconnect(&self) {
        let slot = || self.preconnected.lock().unwrap_or_else(|e| e.into_inner());
        {
            let mut s = slot();
            if !matches!(*s, Preconnect::None) {
                return;
            }
            *s = Preconnect::Connecting;
        }
        // Not under the lock: the run's first session, if it comes first,
        // opens its own instead of waiting for this one.
        let bound = self.io_timeout.min(Duration::from_secs(1));
        let pre = super::session::Preconnected::open(&self.address, self.read_only, bound);
        let mut s = slot();
        if let (Preconnect::Connecting, Some(pre)) = (&*s, pre) {
            *s = Preconnect::Ready(pre);
        }
    }

    /// The error this socket already failed with, when it never answered
    /// like HAProxy (a copy: [`Session::dead_end`]).
    fn known_dead_end(&self) -> Option<Error> {
        let mut known = self.dead_end.lock().unwrap_or_else(|p| p.into_inner());
        // A socket that said nothing may be an HAProxy frozen for a while
        // (CPU-bound in an incident): after twice `--timeout` it is tried
        // again. One that answered something else stays refused.
        if let Some((Error::Timeout { .. }, at)) = &*known {
            if at.elapsed() > self.io_timeout * 2 {
                *known = None;
            }
        }
        known.as_ref().and_then(|(e, _)| Session::dead_end(e))
    }

    /// Keep `e` when it says this socket never answered like HAProxy: a
    /// playbook that catches it and goes on (troubleshoot) must not wait
    /// for the same dead socket again. A fresh session's error only: a
    /// session that answered before may just have been slow once.
    fn remember_dead_end(&self, e: Error) -> Error {
        if let Some(copy) = Session::dead_end(&e) {
            *self.dead_end.lock().unwrap_or_else(|p| p.into_inner()) =
                Some((copy, std::time::Instant::now()));
        }
        e
    }

    /// The worker pid this target routes to on a master CLI.
    pub fn route(&self) -> Option<u32> {
        self.route
    }

    /// A target on a master CLI talks one command per connection (see
    /// [`Session::routed`]).
    fn on_master(&self) -> bool {
        match &self.address {
            Address::Master(_) => true,
            Address::Ssh(remote) => remote.master,
            _ => false,
        }
    }

    async fn send_routed(&self, command: &Command) -> Result<String> {
        // Over SSH the login has its own bound, before the command's own.
        self.ssh_login().await.map_err(|e| self.named(e))?;
        Session::routed(
            &self.address,
            self.io_timeout,
            self.max_reply,
            self.read_only,
            self.route,
            command,
        )
        .await
        .map_err(|e| self.named(e))
    }

    /// `show proc` of this target's master, parsed.
    pub async fn processes(&self) -> Result<Vec<super::proc::Proc>> {
        let command = Command::raw("show proc")?;
        let text = match self.route {
            None => self.send_routed(&command).await?,
            Some(_) => {
                self.with_route(None, self.name.clone())
                    .send_routed(&command)
                    .await?
            }
        };
        super::proc::parse_show_proc(&text).map_err(|e| Error::Malformed {
            target: self.label(),
            command: command.to_string(),
            detail: e.to_string(),
        })
    }

    /// The same socket and settings, routed to another worker `pid` (an old
    /// worker's `show info`).
    pub fn rerouted(&self, pid: u32) -> Target {
        self.with_route(Some(pid), self.name.clone())
    }

    /// A target of a replay bundle, named as the snapshot recorded it.
    pub fn replayed(bundle: &Bundle, store: Arc<ReplyStore>) -> Target {
        Target {
            name: store.name().to_string(),
            host: None,
            address: Address::Replay(bundle.dir().to_path_buf()),
            io_timeout: Duration::ZERO,
            max_reply: super::session::DEFAULT_MAX_REPLY_BYTES,
            read_only: true,
            session: Mutex::new(None),
            preconnected: Default::default(),
            dead_end: std::sync::Mutex::new(None),
            replay: Some(store),
            route: None,
        }
    }

    /// The recorded replies, when this target is a replay.
    pub fn replay(&self) -> Option<&Arc<ReplyStore>> {
        self.replay.as_ref()
    }

    /// Drop the kept session when, idle for `min_idle` or more, it is no
    /// longer on the live process; true when that process was stopping (a
    /// reload). The next command opens a session on the new process.
    async fn retire_if_stale(
        &self,
        slot: &mut Option<Session>,
        min_idle: Duration,
        deadline: tokio::time::Instant,
    ) -> bool {
        let liveness = match slot.as_mut() {
            Some(s) => {
                s.carry(deadline);
                s.liveness(min_idle).await
            }
            None => Liveness::Live,
        };
        if liveness != Liveness::Live {
            *slot = None;
        }
        liveness == Liveness::Stopping
    }

    /// Check now, whatever the idle time, that the kept session is on the
    /// live process; true when HAProxy had reloaded (the session was on the
    /// old process and is dropped). For loops that poll faster than the idle
    /// check fires, such as a drain.
    pub async fn follow_reload(&self) -> bool {
        if self.replay.is_some() || self.on_master() {
            return false;
        }
        let mut guard = self.session.lock().await;
        let deadline = tokio::time::Instant::now() + self.io_timeout;
        self.retire_if_stale(&mut guard, Duration::ZERO, deadline)
            .await
    }

    /// Over SSH, log in to the host (its master, the socket's forward)
    /// before the operation's `--timeout` starts: a login is key exchange
    /// and authentication, CPU on both ends, and a run that logs in to many
    /// hosts at once queues for the cores. It has its own bound,
    /// [`super::ssh::login_bound_of`]; afterwards the forward is reused.
    async fn ssh_login(&self) -> Result<()> {
        if let Address::Ssh(remote) = &self.address {
            let deadline =
                tokio::time::Instant::now() + super::ssh::login_bound_of(remote, self.io_timeout);
            super::ssh::forward(remote, self.io_timeout, deadline).await?;
        }
        Ok(())
    }

    /// Replies longer than `bytes` are abandoned with
    /// [`Error::ReplyTooLarge`](crate::error::Error::ReplyTooLarge).
    pub fn max_reply(mut self, bytes: usize) -> Target {
        self.max_reply = bytes.max(1);
        self
    }

    /// Sessions of this target drop to level `operator` as they open.
    pub fn read_only(mut self, on: bool) -> Target {
        self.read_only = on;
        self
    }

    /// Name the target after its inventory host (`lb1`, not the socket path).
    pub fn host(mut self, host: impl Into<String>) -> Target {
        let host = host.into();
        self.name = host.clone();
        self.host = Some(host);
        self
    }

    /// The inventory host, when the target comes from one.
    pub fn host_name(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The host this target is on, as a rolling change counts hosts: its
    /// inventory host, else its address (the workers of one master CLI
    /// are one host).
    pub fn host_key(&self) -> String {
        match &self.host {
            Some(h) => h.clone(),
            None => self.address.to_string(),
        }
    }

    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// The target in error messages: `lb1 (/run/haproxy/admin.sock)` for an
    /// inventory host (the name alone would not say which socket failed),
    /// `lb1 (worker 42) (master@/run/m.sock)` for one of its workers.
    fn label(&self) -> String {
        match &self.host {
            Some(_) => format!("{} ({})", self.name, self.address),
            None => self.name.clone(),
        }
    }

    /// A session's error, naming the inventory host as well as its socket.
    /// (`Error::target_mut` also covers `Emptied`, which no session returns:
    /// the guard in `script/ctx` builds it with the target's name.)
    fn named(&self, mut e: Error) -> Error {
        if self.host.is_none() && self.route.is_none() {
            return e;
        }
        if let Some(target) = e.target_mut() {
            *target = self.label();
        }
        e
    }

    /// Send one command over the persistent session, or on a connection of
    /// its own when its reply is free-form (see [`Command::prompt_safe`]).
    pub async fn send(&self, command: &Command) -> Result<String> {
        if let Some(r) = &self.replay {
            return r.answer(command);
        }
        if self.on_master() {
            return self.send_routed(command).await;
        }
        if !command.prompt_safe() {
            if let Some(e) = self.known_dead_end() {
                return Err(self.named(e));
            }
            self.ssh_login().await.map_err(|e| self.named(e))?;
            return Session::oneshot(
                &self.address,
                self.io_timeout,
                self.max_reply,
                self.read_only,
                command,
            )
            .await
            .map_err(|e| self.named(e));
        }
        self.send_kept(command).await.map_err(|e| self.named(e))
    }

    async fn send_kept(&self, command: &Command) -> Result<String> {
        with_session!(self, |s| s.send(command))
    }

    /// Several commands in one round trip (see [`Session::send_batch`]).
    pub async fn send_batch(&self, commands: &[&Command]) -> Result<Vec<Result<String>>> {
        if let Some(r) = &self.replay {
            return Ok(commands.iter().map(|c| r.answer(c)).collect());
        }
        if self.on_master() {
            let mut out = Vec::with_capacity(commands.len());
            for c in commands {
                out.push(self.send_routed(c).await);
            }
            return Ok(out);
        }
        match self.send_batch_kept(commands).await {
            Ok(replies) => Ok(replies
                .into_iter()
                .map(|r| r.map_err(|e| self.named(e)))
                .collect()),
            Err(e) => Err(self.named(e)),
        }
    }

    async fn send_batch_kept(&self, commands: &[&Command]) -> Result<Vec<Result<String>>> {
        with_session!(self, |s| s.send_batch(commands))
    }

    /// Like [`Target::send`], streaming the reply to `on_data`.
    pub async fn send_streaming(
        &self,
        command: &Command,
        on_data: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<()> {
        if let Some(r) = &self.replay {
            on_data(r.answer(command)?.as_bytes());
            return Ok(());
        }
        if self.on_master() {
            on_data(self.send_routed(command).await?.as_bytes());
            return Ok(());
        }
        self.send_streaming_kept(command, on_data)
            .await
            .map_err(|e| self.named(e))
    }

    async fn send_streaming_kept(
        &self,
        command: &Command,
        on_data: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<()> {
        with_session!(self, |s| s.send_streaming(command, on_data))
    }

    /// `show stat` (or a filtered form), parsed while it streams in. The
    /// reply cap also bounds the parsed rows, which can outgrow the bytes
    /// received (rows are padded to the header's width).
    pub async fn stat(&self, command: &Command) -> Result<Stat> {
        // Past the cap the parser drops its rows and ignores the rest of the
        // reply, which is still read (up to the same cap) to keep the session.
        let mut parser = StatParser::new().with_limit(self.max_reply);
        let mut parse_error = None;
        self.send_streaming(command, &mut |chunk: &[u8]| {
            if parse_error.is_none() {
                if let Err(e) = parser.feed(chunk) {
                    parse_error = Some(e);
                }
            }
        })
        .await?;
        if parser.over_limit() {
            return Err(Error::ReplyTooLarge {
                target: self.label(),
                command: command.to_string(),
                cap: self.max_reply,
            });
        }
        let malformed = |e: crate::runtime::stat::ParseError| Error::Malformed {
            target: self.label(),
            command: command.to_string(),
            detail: e.to_string(),
        };
        if let Some(e) = parse_error {
            return Err(malformed(e));
        }
        parser.finish().map_err(malformed)
    }

    /// Drop the session (the next command opens a new one).
    pub async fn close(&self) {
        *self.session.lock().await = None;
    }
}

/// All targets of a run.
#[derive(Clone)]
pub struct Client {
    targets: Arc<Vec<Arc<Target>>>,
    /// The `master@` targets as given, before [`Client::expand_masters`]
    /// replaced each by its current workers: `processes()` asks them.
    masters: Arc<Vec<Arc<Target>>>,
    limit: Arc<Semaphore>,
}

impl Client {
    /// The targets a replay bundle recorded, in their recorded order.
    pub fn replay(bundle: &Bundle) -> Client {
        Client {
            targets: Arc::new(
                bundle
                    .targets()
                    .iter()
                    .map(|s| Arc::new(Target::replayed(bundle, Arc::clone(s))))
                    .collect(),
            ),
            masters: Arc::new(Vec::new()),
            limit: Arc::new(Semaphore::new(1)),
        }
    }

    /// The run waited: replayed targets move to their next `show stat` sample.
    pub fn note_sleep(&self) {
        for t in self.targets.iter() {
            if let Some(r) = t.replay() {
                r.note_sleep();
            }
        }
    }

    /// At most `max_parallel` sockets are talked to at once during fan-out.
    /// `read_only` lowers every session to level `operator`. A target with
    /// a host name (from an inventory) is named by it.
    pub fn new(
        addresses: Vec<(Option<String>, Address)>,
        io_timeout: Duration,
        max_reply: usize,
        max_parallel: usize,
        read_only: bool,
    ) -> Client {
        Client {
            targets: Arc::new(
                addresses
                    .into_iter()
                    .map(|(host, a)| {
                        let t = Target::new(a, io_timeout)
                            .max_reply(max_reply)
                            .read_only(read_only);
                        Arc::new(match host {
                            Some(h) => t.host(h),
                            None => t,
                        })
                    })
                    .collect(),
            ),
            masters: Arc::new(Vec::new()),
            limit: Arc::new(Semaphore::new(max_parallel.max(1))),
        }
    }

    /// Open every local target's first session now, on a thread of its
    /// own, while the caller goes on starting (building the engine,
    /// compiling the playbook): the sockets' HAProxy processes accept and
    /// answer the handshake meanwhile. What is not used within a second is
    /// dropped; what fails is left for the session opened when needed,
    /// which reports it. SSH targets and master CLIs are not touched.
    pub fn preconnect(&self) {
        let targets: Vec<Arc<Target>> = self
            .targets
            .iter()
            .filter(|t| {
                t.replay.is_none()
                    && t.route.is_none()
                    && matches!(t.address, Address::Unix(_) | Address::Tcp(_))
            })
            .cloned()
            .collect();
        if targets.is_empty() {
            return;
        }
        let _ = std::thread::Builder::new()
            .name("harun-preconnect".into())
            .spawn(move || {
                for t in &targets {
                    t.preconnect();
                }
                // Not held past its use: HAProxy serves few CLI
                // connections at once (`stats maxconn`, 10 by default).
                std::thread::sleep(RELOAD_CHECK_AFTER);
                for t in &targets {
                    t.drop_preconnected();
                }
            });
    }

    /// Whether a target is a master CLI still to expand.
    pub fn has_masters(&self) -> bool {
        self.targets
            .iter()
            .any(|t| t.on_master() && t.route.is_none())
    }

    /// Each `master@` target replaced by one target per current worker of
    /// its `show proc` (reads then fan out to every worker; writes go to each
    /// of them). A master that cannot be read stays as it is: its commands
    /// fail with the reason, naming it. The workers are those of this moment:
    /// a reload during the run leaves the targets on the old workers.
    pub async fn expand_masters(self) -> Client {
        let mut targets = Vec::with_capacity(self.targets.len());
        let mut masters = Vec::new();
        for t in self.targets.iter() {
            if !t.on_master() || t.route.is_some() {
                targets.push(Arc::clone(t));
                continue;
            }
            masters.push(Arc::clone(t));
            let workers: Vec<u32> = match t.processes().await {
                Ok(procs) => procs
                    .iter()
                    .filter(|p| p.role == super::proc::Role::Worker)
                    .map(|p| p.pid)
                    .collect(),
                Err(_) => Vec::new(),
            };
            if workers.is_empty() {
                targets.push(Arc::clone(t));
            }
            targets.extend(workers.into_iter().map(|pid| Arc::new(t.worker(pid))));
        }
        Client {
            targets: Arc::new(targets),
            masters: Arc::new(masters),
            limit: self.limit,
        }
    }

    /// The master CLIs of this run (`master@` targets).
    pub fn masters(&self) -> &[Arc<Target>] {
        &self.masters
    }

    /// The old workers alive now on every master CLI of the run, each as a
    /// target named `<master> (old worker <pid>)`. A master that does not
    /// answer lists none here (its current workers' reads say why). A worker
    /// that was current when the run started and became old during it (a
    /// reload mid-run) is already a target: it is not listed twice.
    pub async fn old_workers(&self) -> Vec<Target> {
        let mut out = Vec::new();
        for master in self.masters.iter() {
            let Ok(procs) = master.processes().await else {
                continue;
            };
            out.extend(
                procs
                    .iter()
                    .filter(|p| p.role == super::proc::Role::OldWorker)
                    .filter(|p| !self.targets.iter().any(|t| t.route == Some(p.pid)))
                    .map(|p| master.old_worker(p.pid)),
            );
        }
        out
    }

    pub fn targets(&self) -> &[Arc<Target>] {
        &self.targets
    }

    /// The same client over `keep` only (a group of a rolling change):
    /// the same targets and kept sessions, the masters they come from,
    /// the same bound on sockets talked to at once.
    pub fn subset(&self, keep: &[Arc<Target>]) -> Client {
        Client {
            targets: Arc::new(keep.to_vec()),
            masters: Arc::new(
                self.masters
                    .iter()
                    .filter(|m| keep.iter().any(|t| t.address == m.address))
                    .cloned()
                    .collect(),
            ),
            limit: Arc::clone(&self.limit),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Parsed `show stat` from every target concurrently; results in target order.
    pub async fn stat_all(&self, command: &Command) -> Vec<(String, Result<Stat>)> {
        self.fan_out(command, |t, cmd| async move { t.stat(&cmd).await })
            .await
    }

    /// Send `command` to every target concurrently; results in target order.
    pub async fn send_all(&self, command: &Command) -> Vec<(String, Result<String>)> {
        self.fan_out(command, |t, cmd| async move { t.send(&cmd).await })
            .await
    }

    /// Several read commands to every target concurrently, each target's in
    /// one round trip ([`Target::send_batch`]); results in target order. A
    /// target's outer error says it could not be asked at all; the inner
    /// results are each command's reply.
    pub async fn send_batch_all(
        &self,
        commands: &[Command],
    ) -> Vec<(String, Result<Vec<Result<String>>>)> {
        let commands: Arc<[Command]> = commands.into();
        self.fan_out(&commands, |t, cmds| async move {
            let refs: Vec<&Command> = cmds.iter().collect();
            t.send_batch(&refs).await
        })
        .await
    }

    async fn fan_out<T, P, F, Fut>(&self, payload: &P, op: F) -> Vec<(String, Result<T>)>
    where
        T: Send + 'static,
        P: Clone,
        F: Fn(Arc<Target>, P) -> Fut,
        Fut: std::future::Future<Output = Result<T>> + Send + 'static,
    {
        if self.targets.len() == 1 {
            let t = Arc::clone(&self.targets[0]);
            return vec![(t.name(), op(t, payload.clone()).await)];
        }
        let mut set = JoinSet::new();
        for (i, t) in self.targets.iter().enumerate() {
            let fut = op(Arc::clone(t), payload.clone());
            let name = t.name();
            let limit = Arc::clone(&self.limit);
            set.spawn(async move {
                let _permit = limit.acquire_owned().await;
                (i, name, fut.await)
            });
        }
        let mut out: Vec<Option<(String, Result<T>)>> =
            (0..self.targets.len()).map(|_| None).collect();
        while let Some(joined) = set.join_next().await {
            if let Ok((i, name, r)) = joined {
                out[i] = Some((name, r));
            }
        }
        out.into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.unwrap_or_else(|| {
                    (
                        self.targets[i].name(),
                        Err(Error::Other("internal task failed".into())),
                    )
                })
            })
            .collect()
    }
}
