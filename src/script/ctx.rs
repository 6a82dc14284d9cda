//! The state a run shares with every primitive: settings, sockets, the report
//! being built, the sink, cancellation and the write path.

use crate::cancel::CancelToken;
use crate::error::{Error, Result};
use crate::journal::Journal;
use crate::report::{Finding, Report, Table};
use crate::runtime::{Client, Command, ServerRef};
use crate::settings::Settings;
use crate::sink::{Confirm, Event, Sink, WriteNotice};
use std::collections::{BTreeMap, BTreeSet};
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
    pub rt: tokio::runtime::Handle,
    pub client: Client,
    pub cancel: CancelToken,
    deadline: Mutex<Option<Instant>>,
    report: Mutex<Report>,
    sink: Arc<dyn Sink>,
    confirm: Option<Arc<dyn Confirm>>,
    journal: OnceLock<std::result::Result<Journal, String>>,
    confirmed: AtomicBool,
    pub catalog: RwLock<Catalog>,
    playbook: Mutex<String>,
    versions: Mutex<BTreeMap<String, String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Ctx {
    pub fn new(
        settings: Settings,
        rt: tokio::runtime::Handle,
        cancel: CancelToken,
        sink: Arc<dyn Sink>,
        confirm: Option<Arc<dyn Confirm>>,
    ) -> Ctx {
        let client = Client::new(
            settings.sockets.clone(),
            settings.io_timeout,
            settings.max_parallel,
        );
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
            catalog: RwLock::new(Catalog::default()),
            playbook: Mutex::new(String::new()),
            versions: Mutex::new(BTreeMap::new()),
        }
    }

    /// Start a fresh report (and deadline) for a new run.
    pub fn begin_run(&self, playbook: &str) {
        *lock(&self.report) = Report {
            playbook: playbook.to_string(),
            ..Report::default()
        };
        *lock(&self.playbook) = playbook.to_string();
        *lock(&self.deadline) = self.settings.max_time.map(|d| Instant::now() + d);
        self.confirmed.store(false, Ordering::SeqCst);
    }

    pub fn take_report(&self) -> Report {
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

    /// Sleep that Ctrl-C and the deadline interrupt.
    pub fn sleep(&self, d: std::time::Duration) -> Result<()> {
        self.block_on(async {
            tokio::time::sleep(d).await;
            Ok(())
        })
    }

    pub fn emit(&self, event: Event<'_>) {
        self.sink.event(event);
    }

    /// Tell the sink about a write and keep it in the report.
    fn notice_write(&self, target: &str, command: &Command, outcome: &str) {
        self.sink.event(Event::Write(&WriteNotice {
            target: target.to_string(),
            command: command.to_string(),
            outcome: outcome.to_string(),
        }));
        lock(&self.report).writes.push(crate::report::WriteRecord {
            target: target.to_string(),
            command: command.to_string(),
            outcome: outcome.to_string(),
        });
    }

    /// Remember a target's HAProxy version (from `show info`) for the report.
    pub fn note_version(&self, target: &str, version: &str) {
        lock(&self.versions).insert(target.to_string(), version.to_string());
    }

    pub fn versions(&self) -> BTreeMap<String, String> {
        lock(&self.versions).clone()
    }

    pub fn print(&self, line: &str) {
        self.sink.event(Event::Print(line));
        lock(&self.report).output.push(line.to_string());
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

    fn journal_note(&self, target: &str, command: &Command, outcome: &str, error: Option<String>) {
        if let Ok(j) = self.journal() {
            let mut e = j.entry(target, command.as_str(), outcome);
            e.error = error;
            e.playbook = Some(lock(&self.playbook).clone()).filter(|p| !p.is_empty());
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
        let targets: Vec<String> = self.client.targets().iter().map(|t| t.name()).collect();
        if targets.is_empty() {
            return Err(Error::Other(
                "no HAProxy socket to send to (pass -s ADDR)".into(),
            ));
        }
        if self.settings.read_only {
            for t in &targets {
                self.journal_note(t, command, "refused", Some("read-only".into()));
            }
            return Err(Error::Refused {
                reason: format!("--read-only is set; `{command}` was not sent"),
            });
        }
        if !(force || self.settings.force) {
            if let Some(server) = guarded_server(command) {
                self.last_server_guard(&server, command)?;
            }
        }
        if self.settings.dry_run {
            let mut out = Vec::new();
            for t in &targets {
                self.notice_write(t, command, "dry-run");
                self.journal_note(t, command, "dry-run", None);
                out.push((t.clone(), Ok(String::new())));
            }
            return Ok(out);
        }
        if !self.settings.yes && !self.confirmed.load(Ordering::SeqCst) {
            let planned: Vec<String> = targets.iter().map(|t| format!("{t}: {command}")).collect();
            let ok = match &self.confirm {
                Some(c) => c.confirm(&planned),
                None => {
                    return Err(Error::Refused {
                        reason: format!(
                            "`{command}` changes HAProxy's state and there is no terminal to confirm on: pass --yes (or --dry-run to see the commands)"
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
        }
        let journal = self.journal()?;
        let server = command.server_ref();
        let mut out = Vec::new();
        for target in self.client.targets() {
            let name = target.name();
            // State before, the write and state after in one round trip.
            let (before, reply, after) = self.block_on(async {
                let Some(s) = &server else {
                    return Ok((None, target.send(command).await, None));
                };
                let show = Command::show_servers_state(Some(&s.backend))?;
                let mut replies = target
                    .send_batch(&[&show, command, &show])
                    .await?
                    .into_iter();
                let before = replies
                    .next()
                    .and_then(|r| r.ok())
                    .and_then(|t| server_snapshot(&t, s));
                let reply = replies
                    .next()
                    .unwrap_or_else(|| Err(Error::Other("missing reply".into())));
                let after = match (&reply, replies.next()) {
                    (Ok(_), Some(Ok(t))) => server_snapshot(&t, s),
                    _ => None,
                };
                Ok((before, reply, after))
            })?;
            let mut e = journal.entry(
                &name,
                command.as_str(),
                if reply.is_ok() { "sent" } else { "failed" },
            );
            e.before = before;
            e.after = after;
            e.playbook = Some(lock(&self.playbook).clone()).filter(|p| !p.is_empty());
            match &reply {
                Ok(r) => e.reply = Some(r.trim_end().to_string()),
                Err(err) => e.error = Some(err.to_string()),
            }
            journal.record(&e)?;
            self.notice_write(
                &name,
                command,
                if reply.is_ok() { "sent" } else { "failed" },
            );
            out.push((name, reply));
        }
        Ok(out)
    }

    /// Refuse to take the last active UP server of a backend out of rotation.
    fn last_server_guard(&self, server: &ServerRef, command: &Command) -> Result<()> {
        let query = Command::raw(&format!("show stat {} 4 -1", server.backend))?;
        for target in self.client.targets() {
            let text = match self.block_on(target.send(&query)) {
                Ok(t) => t,
                // The write itself will report a missing backend or a dead socket.
                Err(_) => continue,
            };
            let Ok(stat) = crate::runtime::stat::parse_stat(&text) else {
                continue;
            };
            let mut target_up = false;
            let mut others_up = 0;
            for row in 0..stat.len() {
                if stat.text(row, "pxname") != Some(server.backend.as_str()) {
                    continue;
                }
                let status = stat.text(row, "status").unwrap_or("");
                let backup = stat.int(row, "bck").unwrap_or(0) > 0;
                let up = status.starts_with("UP") || status == "no check";
                if stat.text(row, "svname") == Some(server.server.as_str()) {
                    target_up = up;
                } else if up && !backup {
                    others_up += 1;
                }
            }
            if target_up && others_up == 0 {
                self.journal_note(
                    &target.name(),
                    command,
                    "refused",
                    Some("last UP server".into()),
                );
                return Err(Error::Refused {
                    reason: format!(
                        "{server} is the last UP server of backend `{}` on {}: `{command}` would leave it without servers (use force: true / --force if that is what you want)",
                        server.backend,
                        target.name()
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Writes that take a server out of rotation are guarded.
fn guarded_server(command: &Command) -> Option<ServerRef> {
    let c = command.as_str();
    let takes_out = (c.starts_with("set server ")
        && (c.ends_with(" state drain") || c.ends_with(" state maint")))
        || c.starts_with("disable server ");
    if takes_out {
        command.server_ref()
    } else {
        None
    }
}

/// The server's line of a `show servers state` reply, as JSON, for the journal.
fn server_snapshot(text: &str, server: &ServerRef) -> Option<serde_json::Value> {
    let states = crate::runtime::servers_state::parse_servers_state(text).ok()?;
    let s = states.into_iter().find(|s| s.srv_name == server.server)?;
    Some(serde_json::json!({
        "op_state": s.op_state.as_str(),
        "admin_state": s.admin.0,
        "flags": s.admin.flags(),
        "weight": s.uweight,
    }))
}
