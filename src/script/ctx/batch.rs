//! Many writes as one: every server is found and the whole batch is judged
//! by the guard before anything is sent, then the commands go out pipelined
//! in chunks, each judged again just before it goes on what the previous
//! round trip read. Each command still gets its own journal line, with the
//! server's state as last read before its chunk and as read right after it.

use super::guard::{fleet_of, States, CHUNK};
use super::{snapshot_of, Ctx, WriteOutcome};
use crate::actions::journal::Entry;
use crate::actions::rotation::{self, takes_out, Topology};
use crate::base::error::{Error, Result};
use crate::runtime::info::process_of;
use crate::runtime::{Command, ServerRef, Target};
use std::sync::Arc;

/// What a batch did.
#[derive(Debug)]
pub struct BatchOutcome {
    /// One per command sent (or shown, in dry-run) and target, in order.
    pub writes: Vec<WriteOutcome>,
    /// Commands of the batch never sent, per target.
    pub not_sent: usize,
    /// Why the batch stopped before its end, when it did for a reason of
    /// its own (a reload, the guard on fresh state, Ctrl-C). A command that
    /// HAProxy refused is in `writes` with its error.
    pub stopped: Option<Error>,
}

/// One target's view during a batch: the guard's configuration facts and
/// the latest `show servers state` of every backend involved.
struct View {
    target: Arc<Target>,
    topology: Arc<Topology>,
    states: States,
    /// The HAProxy process the batch was judged on (`Pid` of `show info`).
    pid: Option<String>,
    /// `show cli level` (`None` before HAProxy 2.4, which lacks it).
    level: Option<String>,
}

impl Ctx {
    /// Send `commands`, each naming one server, as a batch on every target.
    ///
    /// Before anything is sent: every server must exist on every target
    /// (`no_such_server` otherwise), and the guard judges each write on the
    /// backends as the earlier writes of the batch leave them, so draining
    /// every server of a backend one by one is refused up front with
    /// nothing sent. Dry-run, read-only and confirmation (asked once for the
    /// whole batch) work as for [`Ctx::write_detailed`]; a socket below
    /// `level admin` is refused up front too.
    ///
    /// Then the commands go out in chunks of 64, each followed by `show
    /// servers state` of the backends it and the next chunk affect: one
    /// round trip per chunk and target. Each command is journaled when its
    /// chunk's replies are in. Before each later chunk the target is checked
    /// for a reload, and the chunk is judged again on the state the previous
    /// round trip read (health checks go on meanwhile). The first chunk with
    /// a failed command is the last one sent.
    pub fn write_many(&self, commands: &[Command], force: bool) -> Result<BatchOutcome> {
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
        let targets: Vec<Arc<Target>> = self.client.targets().to_vec();
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
        let mut views = self.batch_views(&targets, commands, &servers, judged)?;
        if self.settings.dry_run {
            return self.batch_dry_run(&views, commands, &servers);
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
            views = self.batch_views(&targets, commands, &servers, judged)?;
        }
        self.batch_send(&mut views, commands, &servers, judged)
    }

    /// Refuse up front, with one journal line, on a socket below `level
    /// admin`: HAProxy would answer `Permission denied` to every command of
    /// the first chunk. (`show cli level` exists since HAProxy 2.4; on older
    /// versions the first chunk tells.)
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

    /// Read what the guard needs on every target, and judge the whole batch
    /// on each: a missing server or a refused write stops it here, before
    /// anything is sent.
    fn batch_views(
        &self,
        targets: &[Arc<Target>],
        commands: &[Command],
        servers: &[ServerRef],
        judged: bool,
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
            let states = self.read_states(target, &backends).map_err(|e| match e {
                Error::NoSuchBackend {
                    target, command, ..
                } => Error::NoSuchBackend {
                    target,
                    command,
                    note: "; read before the batch: nothing of it was sent".into(),
                },
                e => e,
            })?;
            // The process the batch is judged on, and the socket's level,
            // in one round trip.
            let ask = [Command::show_info(), Command::raw("show cli level")?];
            let mut replies = self
                .block_on(target.send_batch(&[&ask[0], &ask[1]]))?
                .into_iter();
            let pid = match replies.next() {
                Some(Ok(info)) => process_of(&info).pid,
                Some(Err(e)) => return Err(e),
                None => None,
            };
            let level = replies
                .next()
                .and_then(|r| r.ok())
                .map(|l| l.trim().to_string());
            let view = View {
                target: target.clone(),
                topology,
                states,
                pid,
                level,
            };
            self.judge(&view, commands, servers, 0..commands.len(), judged)?;
            views.push(view);
        }
        Ok(views)
    }

    /// Walk `commands[range]` in order on one target's latest state: a
    /// missing server, or with `judged` a write the guard refuses, is an
    /// error. Commands before `range` went out already (for the message).
    fn judge(
        &self,
        view: &View,
        all_commands: &[Command],
        all_servers: &[ServerRef],
        range: std::ops::Range<usize>,
        judged: bool,
    ) -> Result<()> {
        let name = view.target.name();
        let (commands, servers) = (&all_commands[range.clone()], &all_servers[range.clone()]);
        // Only the backends these writes affect are read into the fleet.
        let needed = view.topology.backends_for(servers);
        let mut fleet = fleet_of(
            &name,
            needed.iter().filter_map(|b| view.states.get_key_value(b)),
        )?;
        let (sent, total) = (range.start, all_commands.len());
        let context = |i: usize| {
            let done = sent + i;
            if sent == 0 {
                format!(
                    "; judged after the {done} earlier writes of this batch, of {total}: nothing of the batch was sent"
                )
            } else {
                format!(
                    "; the batch stopped here, on fresh state: {sent} of its {total} commands were sent (see the journal), the rest were not"
                )
            }
        };
        for (i, (command, server)) in commands.iter().zip(servers).enumerate() {
            let Some(lines) = fleet.get(&server.backend) else {
                // Its last read failed: judged on nothing, so not sent.
                return Err(Error::Refused {
                    reason: format!(
                        "the state of backend `{}` on {name} could not be read; `{command}` was not sent{}",
                        server.backend,
                        context(i)
                    ),
                });
            };
            if !lines.iter().any(|l| l.name == server.server) {
                return Err(Error::NoSuchServer {
                    target: name,
                    command: command.to_string(),
                    note: context(i),
                });
            }
            if !judged {
                continue;
            }
            if let Err(refusal) = rotation::judge(&mut fleet, &view.topology, command) {
                return Err(self.refuse(refusal, server, command, &name, &context(i)));
            }
        }
        Ok(())
    }

    fn batch_dry_run(
        &self,
        views: &[View],
        commands: &[Command],
        servers: &[ServerRef],
    ) -> Result<BatchOutcome> {
        let planned = views
            .iter()
            .flat_map(|view| {
                let name = view.target.name();
                commands.iter().zip(servers).map(move |(command, server)| {
                    let before = state_of(&view.states, server);
                    (name.clone(), command, Some(server.clone()), before)
                })
            })
            .collect();
        Ok(BatchOutcome {
            writes: self.dry_run(planned),
            not_sent: 0,
            stopped: None,
        })
    }

    fn batch_send(
        &self,
        views: &mut [View],
        commands: &[Command],
        servers: &[ServerRef],
        judged: bool,
    ) -> Result<BatchOutcome> {
        let journal = self.journal()?;
        let playbook = self.playbook_name();
        let mut writes = Vec::with_capacity(commands.len() * views.len());
        let mut sent = 0;
        let mut stopped = None;
        let next_of = |i: usize| {
            &servers[((i + 1) * CHUNK).min(servers.len())..((i + 2) * CHUNK).min(servers.len())]
        };
        'chunks: for (i, (cmds, srvs)) in commands
            .chunks(CHUNK)
            .zip(servers.chunks(CHUNK))
            .enumerate()
        {
            // Ctrl-C and the deadline are heard between chunks, never between
            // the targets of one chunk: a chunk goes to every target or none.
            if let Some(e) = self.stop_reason() {
                if sent == 0 {
                    return Err(e);
                }
                self.journal_stop(views, &commands[sent], &e.to_string());
                stopped = Some(e);
                break;
            }
            if sent > 0 {
                // Before a later chunk: still the live process, and the chunk
                // still acceptable on what the last replies show.
                for view in views.iter() {
                    if let Err(e) = self.batch_may_go_on(view, commands, servers, judged, sent) {
                        stopped = Some(e);
                        break 'chunks;
                    }
                }
            }
            let mut failed = false;
            for view in views.iter_mut() {
                let name = view.target.name();
                // The state after, of every backend the chunk affects, and
                // the state the next chunk will be judged on and journaled
                // with: read in this round trip, so it is fresh.
                let backends = view.topology.backends_for(srvs.iter().chain(next_of(i)));
                let shows = backends
                    .iter()
                    .map(|b| Command::show_servers_state(Some(b)))
                    .collect::<Result<Vec<Command>>>()?;
                let exchange: Vec<&Command> = cmds.iter().chain(&shows).collect();
                let before: Vec<_> = srvs.iter().map(|s| state_of(&view.states, s)).collect();
                // Once sent, a chunk runs to its end (bounded by --timeout)
                // so every command HAProxy received is journaled.
                let replies = match self.rt.block_on(view.target.send_batch(&exchange)) {
                    Ok(mut r) => {
                        for (b, after) in backends.iter().zip(r.split_off(cmds.len())) {
                            match after {
                                Ok(text) => view.states.insert(b.clone(), text),
                                // Unknown now: no `after` from a stale read,
                                // and the guard will not judge on it.
                                Err(_) => view.states.remove(b),
                            };
                        }
                        r
                    }
                    Err(e) => cmds.iter().map(|c| Err(echo(&e, &name, c))).collect(),
                };
                let mut entries = Vec::with_capacity(cmds.len());
                for (((command, server), reply), before) in
                    cmds.iter().zip(srvs).zip(replies).zip(before)
                {
                    let outcome = outcome_of(&reply);
                    failed |= reply.is_err();
                    let after = reply
                        .as_ref()
                        .ok()
                        .and_then(|_| state_of(&view.states, server));
                    let mut e: Entry = journal.entry(&name, command.as_str(), outcome);
                    e.before = before.clone();
                    e.after = after.clone();
                    e.playbook = playbook.clone();
                    match &reply {
                        Ok(r) => e.reply = Some(r.trim_end().to_string()),
                        Err(err) => e.error = Some(err.to_string()),
                    }
                    entries.push(e);
                    writes.push(WriteOutcome {
                        target: name.clone(),
                        server: Some(server.clone()),
                        command: command.to_string(),
                        outcome,
                        reply,
                        before,
                        after,
                    });
                }
                // Journaled first: a notice says the write is in the journal.
                journal.record_all(&entries)?;
                for (command, w) in cmds.iter().zip(&writes[writes.len() - cmds.len()..]) {
                    self.notice_write(&name, command, w.outcome);
                }
            }
            sent += cmds.len();
            if failed {
                break;
            }
        }
        Ok(BatchOutcome {
            writes,
            not_sent: commands.len() - sent,
            stopped,
        })
    }

    /// Whether the batch may send its next chunk to this target: no reload
    /// (the kept session would be on the old, stopping process, and writes
    /// there are lost), and the guard's yes on that chunk with the state the
    /// last replies showed.
    fn batch_may_go_on(
        &self,
        view: &View,
        commands: &[Command],
        servers: &[ServerRef],
        judged: bool,
        sent: usize,
    ) -> Result<()> {
        // A reload shows either way: the kept session still on the old
        // process (`Stopping: 1`), or, when the old process closed it, a
        // session reopened on the new one (another `Pid`).
        let info = self.block_on(view.target.send(&Command::show_info()))?;
        let now = process_of(&info);
        if now.stopping || now.pid != view.pid {
            let name = view.target.name();
            self.journal_note(
                &name,
                &commands[sent],
                "refused",
                Some("HAProxy reloaded during the batch".into()),
            );
            return Err(Error::Refused {
                reason: format!(
                    "HAProxy reloaded during the batch on {}: {sent} of its {} commands were sent, to the process that is now stopping, so the new process does not have them (unless it loaded a server-state-file saved after them); the rest were not sent. Run the batch again",
                    view.target.name(),
                    commands.len()
                ),
            });
        }
        // Servers existed when the batch was judged whole (one removed since
        // answers `No such server`, which stops the batch): only the guard
        // needs the walk again.
        if !judged {
            return Ok(());
        }
        // The next chunk, on the state read in the last round trip (its
        // backends and their followers' were read there). Each later chunk
        // gets the same just before it goes, as a loop of single writes
        // would: the walk stays linear in the batch.
        let next = sent..(sent + CHUNK).min(commands.len());
        self.judge(view, commands, servers, next, judged)
    }

    /// A batch stopped before `next`: one journal line per target says so.
    fn journal_stop(&self, views: &[View], next: &Command, why: &str) {
        for view in views {
            self.journal_note(&view.target.name(), next, "refused", Some(why.into()));
        }
    }
}

/// The server's state in the latest `show servers state` of its backend.
fn state_of(states: &States, server: &ServerRef) -> Option<serde_json::Value> {
    states
        .get(&server.backend)
        .and_then(|t| snapshot_of(t, &server.server).into_json())
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
