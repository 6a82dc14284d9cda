//! Many writes as one pipelined exchange per target. Before anything is
//! sent, one round trip reads what the guard and the journal need (the
//! state of every backend involved, the process, the socket's level) and
//! the whole batch is judged on it. Then the intents are journaled (one
//! `write(2)` and one sync), and the commands go out pipelined with the
//! state after and a reload check in the same exchange; the outcomes are
//! journaled in one more `write(2)`.

use super::guard::{fleet_of, split_by_backend, States};
use super::{Ctx, WriteOutcome};
use crate::actions::journal::{Entry, ServerSnapshot};
use crate::actions::rotation::{self, takes_out, Fleet, Topology};
use crate::base::error::{Error, Result};
use crate::runtime::info::process_of;
use crate::runtime::{Command, ServerRef, Target};
use std::sync::Arc;

/// What a batch did.
#[derive(Debug)]
pub struct BatchOutcome {
    /// One per command and target, in order: sent (or shown, in dry-run),
    /// or `skipped` with its reason (only with `partial`).
    pub writes: Vec<WriteOutcome>,
    /// Commands of the batch never sent, per target (the targets after a
    /// stop), skipped ones aside.
    pub not_sent: usize,
    /// Why the batch stopped before its end, when it did for a reason of
    /// its own (a reload, Ctrl-C). A command that HAProxy refused is in
    /// `writes` with its error.
    pub stopped: Option<Error>,
}

/// Each backend's `show servers state`, or why it could not be read.
type BackendReplies = Vec<(String, Result<Arc<str>>)>;

/// How a batch treats a write that cannot go (an unknown server, a write
/// the guard refuses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnRefusal {
    /// Refuse the whole batch before anything is sent.
    Whole,
    /// Skip that write, send the rest, report each skipped one and why.
    Skip,
}

/// One target's view during a batch: the guard's configuration facts and
/// the `show servers state` of every backend involved.
struct View {
    target: Arc<Target>,
    topology: Arc<Topology>,
    states: States,
    /// Backends whose state could not be read, and why (`OnRefusal::Skip`).
    unread: std::collections::HashMap<String, String>,
    /// `show cli level` (`None` before HAProxy 2.4, which lacks it).
    level: Option<String>,
    /// When the states were asked for.
    read_at: std::time::Instant,
    /// Per command: why it is skipped on this target (`OnRefusal::Skip`).
    skipped: Vec<Option<Error>>,
    /// Per command: its server's state before the batch (what the journal
    /// records), read off the same parse the guard judged on.
    before: Vec<Option<ServerSnapshot>>,
    /// Per backend the batch affects: its servers in rotation before the
    /// batch (to check after that none was emptied under it).
    serving_before: Vec<(String, usize)>,
}

impl Ctx {
    /// Send `commands`, each naming one server, as a batch on every target.
    ///
    /// Before anything is sent: every server must exist on every target
    /// (`no_such_server` otherwise), and the guard judges each write on the
    /// backends as the earlier writes of the batch leave them, so draining
    /// every server of a backend one by one is refused up front with
    /// nothing sent (with [`OnRefusal::Skip`], those writes are skipped and
    /// reported instead). Dry-run, read-only and confirmation (asked once
    /// for the whole batch) work as for [`Ctx::write_detailed`]; a socket
    /// below `level admin` is refused up front too.
    ///
    /// Then, target after target, one exchange: the commands pipelined,
    /// the state after of every backend they affect, `show info` (did
    /// HAProxy reload meanwhile?). Every command is journaled before it is
    /// sent and again with its outcome. A target where a command failed or
    /// HAProxy reloaded is the last one written.
    pub fn write_many(
        &self,
        commands: &[Command],
        force: bool,
        on_refusal: OnRefusal,
    ) -> Result<BatchOutcome> {
        let empty = BatchOutcome {
            writes: Vec::new(),
            not_sent: 0,
            stopped: None,
        };
        if commands.is_empty() {
            return Ok(empty);
        }
        self.refuse_replay(format_args!(
            "the {} commands of the batch (from `{}`) were not sent",
            commands.len(),
            commands[0]
        ))?;
        // A group of a rolling change, or every target.
        let targets: Vec<Arc<Target>> = self.scoped_client().targets().to_vec();
        if targets.is_empty() {
            return Err(Error::NoTarget);
        }
        let servers = commands
            .iter()
            .map(|c| {
                c.server_ref().ok_or_else(|| Error::InvalidInput {
                    what: "batch command",
                    value: c.to_string(),
                    reason: "a batch takes commands that name one server".into(),
                })
            })
            .collect::<Result<Vec<ServerRef>>>()?;
        let names: Vec<String> = targets.iter().map(|t| t.name()).collect();
        if self.settings.read_only {
            return Err(self.refuse_read_only(
                &names,
                commands,
                format!(
                    "the {} commands of the batch (from `{}`) were not sent",
                    commands.len(),
                    commands[0]
                ),
            ));
        }
        // The guard has a say only without force, and only on writes that
        // may take a server out.
        let judged =
            !(force || self.settings.force) && commands.iter().any(|c| takes_out(c).is_some());
        let mut views = self.batch_views(&targets, commands, &servers, judged, on_refusal)?;
        if self.settings.dry_run {
            return Ok(self.batch_dry_run(&views, commands, &servers));
        }
        self.require_admin_level(&views, &commands[0])?;
        if self.needs_confirmation() {
            self.confirm_writes(
                &names,
                commands,
                format!(
                    "the {} commands of the batch (from `{}`) change",
                    commands.len(),
                    commands[0]
                ),
            )?;
            // The backends may have changed while the operator read the list.
            views = self.batch_views(&targets, commands, &servers, judged, on_refusal)?;
        }
        self.batch_send(views, commands, &servers)
    }

    /// Refuse up front, with one journal line, on a socket below `level
    /// admin`: HAProxy would answer `Permission denied` to every command.
    /// (`show cli level` exists since HAProxy 2.4; on older versions the
    /// replies tell.)
    fn require_admin_level(&self, views: &[View], first: &Command) -> Result<()> {
        for view in views {
            let Some(level) = view.level.as_deref() else {
                continue;
            };
            if matches!(level, "operator" | "user") {
                let name = view.target.name();
                self.journal_note(
                    &name,
                    first,
                    "refused",
                    Some(format!("socket level {level}")),
                );
                return Err(Error::PermissionDenied {
                    target: name,
                    command: first.to_string(),
                    note: format!("; `show cli level` says {level}: nothing of the batch was sent"),
                });
            }
        }
        Ok(())
    }

    /// Read what the guard needs on every target, one round trip each, and
    /// judge the whole batch there: with [`OnRefusal::Whole`] a missing
    /// server or a refused write stops it here, before anything is sent.
    fn batch_views(
        &self,
        targets: &[Arc<Target>],
        commands: &[Command],
        servers: &[ServerRef],
        judged: bool,
        on_refusal: OnRefusal,
    ) -> Result<Vec<View>> {
        let mut views = Vec::new();
        for target in targets {
            // The configuration's backups and track chains (one `show stat`
            // of every server, per run) only for the guard; otherwise only
            // the servers' own backends are read.
            let topology = if judged {
                self.topology(target)?
            } else {
                Arc::new(Topology::default())
            };
            let backends = topology.backends_for(servers);
            let read_at = std::time::Instant::now();
            let (level, by_backend) = self.read_backends(target, &topology, &backends)?;
            let mut states = States::new();
            let mut unread = std::collections::HashMap::new();
            for (b, reply) in by_backend {
                match reply {
                    Ok(text) => {
                        states.insert(b, text);
                    }
                    Err(e) if on_refusal == OnRefusal::Skip => {
                        // Judged below: its writes are skipped, with this reason.
                        unread.insert(b, e.to_string());
                    }
                    Err(Error::NoSuchBackend {
                        target: on,
                        command,
                        ..
                    }) => {
                        let e = Error::NoSuchBackend {
                            target: on,
                            command,
                            note: "; read before the batch: nothing of it was sent".into(),
                        };
                        // Journaled as refused: the writes naming it, not the read.
                        let why = e.to_string();
                        for (c, s) in commands.iter().zip(servers) {
                            if s.backend == b {
                                self.journal_note(&target.name(), c, "refused", Some(why.clone()));
                            }
                        }
                        return Err(e);
                    }
                    Err(e) => return Err(e),
                }
            }
            let mut view = View {
                target: target.clone(),
                topology,
                states,
                unread,
                level,
                read_at,
                skipped: Vec::new(),
                before: Vec::new(),
                serving_before: Vec::new(),
            };
            (view.skipped, view.before, view.serving_before) =
                self.judge(&view, &backends, commands, servers, judged, on_refusal)?;
            views.push(view);
        }
        Ok(views)
    }

    /// In one round trip: `show info` (HAProxy answers at all), `show cli
    /// level`, and the state of `backends` (one `show servers state` of
    /// everything when that costs HAProxy less, see
    /// [`Topology::prefer_full_read`]; a backend it has no line of is then
    /// asked for on its own, so a missing one gets HAProxy's own answer).
    /// Every state read refreshes the run's view. Returns the level and
    /// each backend's reply.
    fn read_backends(
        &self,
        target: &Target,
        topology: &Topology,
        backends: &[String],
    ) -> Result<(Option<String>, BackendReplies)> {
        let name = target.name();
        let full = topology.prefer_full_read(backends);
        let mut ask = vec![Command::show_info(), Command::raw("show cli level")?];
        if full {
            ask.push(Command::show_servers_state(None)?);
        } else {
            for b in backends {
                ask.push(Command::show_servers_state(Some(b))?);
            }
        }
        let refs: Vec<&Command> = ask.iter().collect();
        let asked = std::time::Instant::now();
        let mut replies = self.block_on(target.send_batch(&refs))?.into_iter();
        if let Some(Err(e)) = replies.next() {
            return Err(e);
        }
        let level = replies
            .next()
            .and_then(|r| r.ok())
            .map(|l| l.trim().to_string());
        let mut out: BackendReplies = Vec::with_capacity(backends.len());
        if !full {
            for (b, reply) in backends.iter().zip(replies) {
                let reply = reply.map(Arc::<str>::from);
                if let Ok(text) = &reply {
                    self.remember_state(&name, b, text);
                }
                out.push((b.clone(), reply));
            }
            return Ok((level, out));
        }
        let everything = replies.next().unwrap_or_else(|| Ok(String::new()))?;
        let mut parts = self.remember_dump(&name, &everything, asked);
        let unseen: Vec<String> = backends
            .iter()
            .filter(|b| !parts.contains_key(*b))
            .cloned()
            .collect();
        let mut asked_alone = std::collections::HashMap::new();
        if !unseen.is_empty() {
            let shows = unseen
                .iter()
                .map(|b| Command::show_servers_state(Some(b)))
                .collect::<Result<Vec<Command>>>()?;
            let refs: Vec<&Command> = shows.iter().collect();
            for (b, reply) in unseen.iter().zip(self.block_on(target.send_batch(&refs))?) {
                asked_alone.insert(b.clone(), reply.map(Arc::<str>::from));
            }
        }
        for b in backends {
            let reply = match parts.remove(b) {
                Some(text) => Ok(text),
                None => asked_alone
                    .remove(b)
                    .unwrap_or_else(|| Err(Error::Other(format!("backend {b} was not read")))),
            };
            out.push((b.clone(), reply));
        }
        Ok((level, out))
    }

    /// Walk `commands` in order on one target's state: a missing server, or
    /// with `judged` a write the guard refuses, is an error
    /// ([`OnRefusal::Whole`]) or that write's reason to be skipped.
    /// Also returns each command's server state before the batch and, when
    /// `judged`, the servers in rotation of each of `backends` before it.
    #[allow(clippy::type_complexity)]
    fn judge(
        &self,
        view: &View,
        backends: &[String],
        commands: &[Command],
        servers: &[ServerRef],
        judged: bool,
        on_refusal: OnRefusal,
    ) -> Result<(
        Vec<Option<Error>>,
        Vec<Option<ServerSnapshot>>,
        Vec<(String, usize)>,
    )> {
        let name = view.target.name();
        let mut fleet = fleet_of(&name, view.states.iter())?;
        let before: Vec<Option<ServerSnapshot>> =
            servers.iter().map(|s| snapshot_in(&fleet, s)).collect();
        let serving_before = if judged {
            serving_of(&fleet, &view.topology, backends)
        } else {
            Vec::new()
        };
        let total = commands.len();
        let whole = on_refusal == OnRefusal::Whole;
        let context = |i: usize| {
            if whole {
                format!(
                    "; judged after the {i} earlier writes of this batch, of {total}: nothing of the batch was sent"
                )
            } else {
                "; skipped, the rest of the batch goes (partial)".to_string()
            }
        };
        let mut skipped = Vec::with_capacity(total);
        for (i, (command, server)) in commands.iter().zip(servers).enumerate() {
            let problem = if !fleet.contains_key(&server.backend) {
                // Its read failed: judged on nothing, so not sent.
                let why = view
                    .unread
                    .get(&server.backend)
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                Some(Error::Refused {
                    reason: format!(
                        "the state of backend `{}` on {name} could not be read{why}; `{command}` was not sent{}",
                        server.backend,
                        context(i)
                    ),
                })
            } else if !fleet[&server.backend]
                .iter()
                .any(|l| l.name == server.server)
            {
                Some(Error::NoSuchServer {
                    target: name.clone(),
                    command: command.to_string(),
                    note: context(i),
                })
            } else if judged {
                rotation::judge(&mut fleet, &view.topology, command)
                    .err()
                    .map(|refusal| {
                        let (why, e) =
                            self.refusal_error(refusal, server, command, &name, &context(i));
                        let outcome = if whole { "refused" } else { "skipped" };
                        self.journal_note(&name, command, outcome, Some(why));
                        e
                    })
            } else {
                None
            };
            match problem {
                Some(e) if whole => {
                    // Guard refusals are journaled where they are judged.
                    if !matches!(e, Error::Refused { .. }) {
                        self.journal_note(&name, command, "refused", Some(e.to_string()));
                    }
                    return Err(e);
                }
                Some(e) => {
                    if !matches!(e, Error::Refused { .. }) {
                        self.journal_note(&name, command, "skipped", Some(e.to_string()));
                    }
                    skipped.push(Some(e));
                }
                None => skipped.push(None),
            }
        }
        Ok((skipped, before, serving_before))
    }

    fn batch_dry_run(
        &self,
        views: &[View],
        commands: &[Command],
        servers: &[ServerRef],
    ) -> BatchOutcome {
        let mut writes = Vec::new();
        for view in views {
            let name = view.target.name();
            let planned = commands
                .iter()
                .zip(servers)
                .zip(&view.skipped)
                .zip(&view.before)
                .filter(|((_, skip), _)| skip.is_none())
                .map(|(((command, server), _), before)| {
                    (name.clone(), command, Some(server.clone()), before.clone())
                })
                .collect();
            let mut shown = self.dry_run(planned).into_iter();
            for ((command, server), skip) in commands.iter().zip(servers).zip(&view.skipped) {
                match skip {
                    None => writes.extend(shown.next()),
                    Some(e) => writes.push(skipped_write(&name, command, server, e)),
                }
            }
        }
        BatchOutcome {
            writes,
            not_sent: 0,
            stopped: None,
        }
    }

    fn batch_send(
        &self,
        mut views: Vec<View>,
        commands: &[Command],
        servers: &[ServerRef],
    ) -> Result<BatchOutcome> {
        let journal = self.journal()?;
        let playbook = self.playbook_name();
        let mut writes = Vec::with_capacity(commands.len() * views.len());
        let mut stopped = None;
        let mut reached = 0;
        for view in views.iter_mut() {
            // Ctrl-C and the deadline are heard between targets, never in
            // the middle of one target's exchange.
            if let Some(e) = self.stop_reason() {
                if reached == 0 {
                    return Err(e);
                }
                self.journal_note(
                    &view.target.name(),
                    &commands[0],
                    "refused",
                    Some(e.to_string()),
                );
                stopped = Some(e);
                break;
            }
            reached += 1;
            let name = view.target.name();
            let going: Vec<usize> = (0..commands.len())
                .filter(|&i| view.skipped[i].is_none())
                .collect();
            // Journaled (and synced) before the first byte goes out.
            let before: Vec<Option<ServerSnapshot>> =
                going.iter().map(|&i| view.before[i].clone()).collect();
            let intents: Vec<Entry> = going
                .iter()
                .zip(before)
                .map(|(&i, before)| {
                    let mut e = journal.intent(&name, commands[i].as_str());
                    e.before = before;
                    e.playbook = playbook.clone();
                    e
                })
                .collect();
            journal.record_intents(&intents)?;
            // The state after, of every backend the writes affect, and the
            // process answering: in the same exchange, so fresh.
            let backends = view
                .topology
                .backends_for(going.iter().map(|&i| &servers[i]));
            let full = view.topology.prefer_full_read(&backends);
            let mut tail = if full {
                vec![Command::show_servers_state(None)?]
            } else {
                backends
                    .iter()
                    .map(|b| Command::show_servers_state(Some(b)))
                    .collect::<Result<Vec<Command>>>()?
            };
            tail.push(Command::show_info());
            // What the guard counted on, to check it still holds after.
            let serving_before = std::mem::take(&mut view.serving_before);
            let exchange: Vec<&Command> =
                going.iter().map(|&i| &commands[i]).chain(&tail).collect();
            // Once sent, the exchange runs to its end (bounded by --timeout)
            // so every command HAProxy received is journaled.
            let (replies, reloaded) = match self.rt.block_on(view.target.send_batch(&exchange)) {
                Ok(mut r) => {
                    let info = r.pop();
                    let shown = r.split_off(going.len());
                    let afters: Vec<(String, Result<Arc<str>>)> = if full {
                        let mut parts: std::collections::HashMap<String, Arc<str>> = shown
                            .into_iter()
                            .next()
                            .and_then(|r| r.ok())
                            .map(|t| split_by_backend(&t))
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(b, p)| (b, Arc::from(p)))
                            .collect();
                        backends
                            .iter()
                            .map(|b| {
                                let text = parts
                                    .remove(b)
                                    .ok_or_else(|| Error::Other(format!("no line of backend {b}")));
                                (b.clone(), text)
                            })
                            .collect()
                    } else {
                        backends
                            .iter()
                            .cloned()
                            .zip(shown.into_iter().map(|r| r.map(Arc::<str>::from)))
                            .collect()
                    };
                    for (b, after) in afters {
                        match after {
                            Ok(text) => {
                                self.remember_state(&name, &b, &text);
                                view.states.insert(b, text);
                            }
                            // Unknown now: no `after` from a stale read.
                            Err(_) => {
                                view.states.remove(&b);
                            }
                        }
                    }
                    let reloaded = matches!(info, Some(Ok(text)) if process_of(&text).stopping);
                    (r, reloaded)
                }
                Err(e) => (
                    going
                        .iter()
                        .map(|&i| Err(echo(&e, &name, &commands[i])))
                        .collect(),
                    false,
                ),
            };
            let mut outcomes = Vec::with_capacity(going.len());
            let mut sent = std::collections::HashMap::with_capacity(going.len());
            let mut failed = false;
            let after_fleet = fleet_of(&name, view.states.iter()).ok();
            let after: Vec<Option<ServerSnapshot>> = going
                .iter()
                .map(|&i| {
                    after_fleet
                        .as_ref()
                        .and_then(|f| snapshot_in(f, &servers[i]))
                })
                .collect();
            for (((&i, reply), intent), after) in going.iter().zip(replies).zip(&intents).zip(after)
            {
                let outcome = outcome_of(&reply);
                failed |= reply.is_err();
                let after = reply.as_ref().ok().and(after);
                let mut e = journal.outcome(intent, outcome);
                e.after = after.clone();
                match &reply {
                    Ok(r) => e.reply = Some(r.trim_end().to_string()),
                    Err(err) => e.error = Some(err.to_string()),
                }
                outcomes.push(e);
                sent.insert(
                    i,
                    WriteOutcome {
                        target: name.clone(),
                        server: Some(servers[i].clone()),
                        command: commands[i].to_string(),
                        outcome,
                        reply,
                        before: intent.before.clone(),
                        after,
                    },
                );
            }
            journal.record_all(&outcomes)?;
            for (i, command) in commands.iter().enumerate() {
                match sent.remove(&i) {
                    Some(w) => {
                        self.notice_write(&name, command, w.outcome, w.reply.as_ref().err());
                        writes.push(w);
                    }
                    None => {
                        if let Some(e) = &view.skipped[i] {
                            writes.push(skipped_write(&name, command, &servers[i], e));
                        }
                    }
                }
            }
            let emptied: Vec<String> = match after_fleet
                .as_ref()
                .map(|f| serving_of(f, &view.topology, &backends))
            {
                Some(after) => {
                    let now: std::collections::HashMap<&str, usize> =
                        after.iter().map(|(b, n)| (b.as_str(), *n)).collect();
                    serving_before
                        .iter()
                        .filter(|(b, n)| *n > 0 && now.get(b.as_str()) == Some(&0))
                        .map(|(b, _)| b.clone())
                        .collect()
                }
                None => Vec::new(),
            };
            if !emptied.is_empty() {
                let ours: Vec<String> = going
                    .iter()
                    .map(|&i| &servers[i])
                    .filter(|s| emptied.contains(&s.backend))
                    .map(|s| s.to_string())
                    .collect();
                let list = emptied
                    .iter()
                    .map(|b| format!("`{b}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                stopped = Some(Error::Emptied {
                    target: name.clone(),
                    detail: format!(
                        "backend {list} has no server in rotation after this batch: the guard judged its writes on state read {} ms before, and meanwhile something else (another operator, a health check, an agent) took out the servers it counted on. Put one back now, e.g. set_state(\"{}\", \"ready\"); this batch took out {}",
                        view.read_at.elapsed().as_millis(),
                        ours.first().map(String::as_str).unwrap_or("BACKEND/SERVER"),
                        ours.join(", ")
                    ),
                });
                break;
            }
            let went = outcomes.iter().filter(|e| e.outcome == "sent").count();
            if reloaded && went > 0 {
                self.journal_note(
                    &name,
                    &commands[0],
                    "refused",
                    Some("HAProxy reloaded during the batch".into()),
                );
                stopped = Some(Error::Refused {
                    reason: format!(
                        "HAProxy reloaded during the batch on {name}: {went} of its commands went to the process that is now stopping, so the new process may not have them (unless it loaded a server-state-file saved after them); no later target was written. Run the batch again"
                    ),
                });
                break;
            }
            if failed {
                break;
            }
        }
        let per_target = views
            .first()
            .map_or(0, |v| v.skipped.iter().filter(|s| s.is_none()).count());
        Ok(BatchOutcome {
            writes,
            not_sent: per_target * (views.len() - reached),
            stopped,
        })
    }
}

/// The servers in rotation of each of `backends` (as the guard counts them).
fn serving_of(fleet: &Fleet, topology: &Topology, backends: &[String]) -> Vec<(String, usize)> {
    backends
        .iter()
        .filter_map(|b| rotation::serving(fleet, topology, b).map(|n| (b.clone(), n)))
        .collect()
}

/// A write a partial batch skipped, as the playbook sees it.
fn skipped_write(target: &str, command: &Command, server: &ServerRef, why: &Error) -> WriteOutcome {
    WriteOutcome {
        target: target.to_string(),
        server: Some(server.clone()),
        command: command.to_string(),
        outcome: "skipped",
        // The reason as it was told (its kind stays with the journal line).
        reply: Err(Error::Other(why.to_string())),
        before: None,
        after: None,
    }
}

/// The server's state in a parsed view of its backend.
fn snapshot_in(fleet: &Fleet, server: &ServerRef) -> Option<ServerSnapshot> {
    let line = fleet
        .get(&server.backend)?
        .iter()
        .find(|l| l.name == server.server)?;
    Some(ServerSnapshot::new(line.op, line.admin, line.weight))
}

/// `sent`; `unknown` when the command may have reached HAProxy with no
/// readable reply back; `failed`.
pub(super) fn outcome_of(reply: &Result<String>) -> &'static str {
    match reply {
        Ok(_) => "sent",
        Err(
            Error::Timeout { .. }
            | Error::ConnectionLost { .. }
            | Error::Malformed { .. }
            | Error::ReplyTooLarge { .. },
        ) => "unknown",
        Err(_) => "failed",
    }
}

/// The error of a whole exchange, told for one of its commands: same kind
/// (so the same outcome and exit code), naming that command.
fn echo(e: &Error, target: &str, command: &Command) -> Error {
    let (target, command) = (target.to_string(), command.to_string());
    match e {
        Error::Unreachable { source, .. } => Error::Unreachable {
            target,
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        Error::Timeout { after, .. } => Error::Timeout {
            target,
            what: format!("the reply to `{command}`"),
            after: *after,
        },
        Error::Malformed { detail, .. } => Error::Malformed {
            target,
            command,
            detail: detail.clone(),
        },
        Error::ReplyTooLarge { cap, .. } => Error::ReplyTooLarge {
            target,
            command,
            cap: *cap,
        },
        _ => Error::ConnectionLost {
            target,
            command,
            detail: e.to_string(),
        },
    }
}
