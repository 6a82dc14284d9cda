//! Names HAProxy does not know: a mistyped backend or server ends every
//! primitive the same way, with kind `no_such_backend` or `no_such_server`
//! (exit 2), the target, the command that met it, and the nearest names
//! that target has. The names come from the target's own reply (`show
//! backend`, `show stat`, `show servers state`), read after the miss: a
//! suggestion is never a guess, and a target that cannot tell leaves none.

use super::ctx::Ctx;
use crate::base::error::{unknown_name, Error, Unknown};
use crate::base::report::{Finding, Severity};
use crate::base::suggest;
use crate::fleet::disagree::{Disagreement, Field, Value};
use crate::runtime::servers_state::parse_servers_state;
use crate::runtime::stat::ProxyType;
use crate::runtime::{Command, Target};
use std::sync::Arc;

/// `e` with the nearest names its target has ending its message, for a
/// `no_such_*` error (HAProxy's `No such proxy.` to `show stat` counts as
/// one); any other error unchanged. Costs one read of the target, on an
/// error path only.
pub fn explained(ctx: &Ctx, e: Error) -> Error {
    let e = no_such_proxy(e);
    let Some(target) = missing_target(&e) else {
        return e;
    };
    match target_named(ctx, target) {
        Some(t) => explained_among(ctx, e, &[t]),
        None => e,
    }
}

/// The target a `no_such_*` error names; `None` for any other error.
fn missing_target(e: &Error) -> Option<&str> {
    match e {
        Error::NoSuchBackend { target, .. } | Error::NoSuchServer { target, .. } => Some(target),
        _ => None,
    }
}

/// Whether `e` says a target does not have a backend or server (a miss
/// about a name, not about the target: it answered).
pub fn is_missing(e: &Error) -> bool {
    missing_target(e).is_some()
}

/// `e`, a `no_such_*` error, with the nearest names any of `targets` has
/// ending its message (one read per target, on an error path only).
fn explained_among(ctx: &Ctx, e: Error, targets: &[Arc<Target>]) -> Error {
    let (command, note, what) = match &e {
        Error::NoSuchBackend { command, note, .. } => (command, note, Unknown::Backend),
        Error::NoSuchServer { command, note, .. } => (command, note, Unknown::Server),
        _ => return e,
    };
    // Already explained (a batch error seen by two layers).
    if note.contains("did you mean") {
        return e;
    }
    let Some(name) = unknown_name(command, what) else {
        return e;
    };
    let mut candidates: Vec<String> = Vec::new();
    for t in targets {
        let names = match (what, command.starts_with("show stat ")) {
            (Unknown::Backend, true) => proxies(ctx, t),
            (Unknown::Backend, false) => backends(ctx, t),
            (Unknown::Server, _) => servers(ctx, t, name.split('/').next().unwrap_or_default()),
        };
        for n in names {
            if !candidates.contains(&n) {
                candidates.push(n);
            }
        }
    }
    let hint = suggest::did_you_mean(&suggest::nearest(
        name,
        candidates.iter().map(String::as_str),
    ));
    if hint.is_empty() {
        return e;
    }
    let mut e = e;
    if let Error::NoSuchBackend { note, .. } | Error::NoSuchServer { note, .. } = &mut e {
        note.push_str(&hint);
    }
    e
}

/// A read every answering target answered with `no such backend` (or
/// server): the error one target gives, naming each of them, with the
/// nearest names any of them has. `unanswered` targets (that could not
/// tell) are named in its note.
pub fn missing_everywhere(
    ctx: &Ctx,
    missing: Vec<(String, Error)>,
    unanswered: &[String],
) -> Error {
    let names: Vec<String> = missing.iter().map(|(t, _)| t.clone()).collect();
    let Some((_, first)) = missing.into_iter().next() else {
        return Error::NoTarget;
    };
    let targets: Vec<Arc<Target>> = ctx
        .client
        .targets()
        .iter()
        .filter(|t| names.contains(&t.name()))
        .cloned()
        .collect();
    let mut e = explained_among(ctx, no_such_proxy(first), &targets);
    if let Error::NoSuchBackend { target, note, .. } | Error::NoSuchServer { target, note, .. } =
        &mut e
    {
        *target = names.join(", ");
        if !unanswered.is_empty() {
            note.push_str(&format!(
                " ({} did not answer: see their `target.unreachable` findings)",
                unanswered.join(", ")
            ));
        }
    }
    e
}

/// A read some targets answered and others answered `no such backend` (or
/// server): the results hold the rows of the first only, and this finding
/// says so, as `disagreements()` says a backend present on some targets
/// only: a `fleet.disagreement` warning of field `present`. `order` is
/// each target that answered, in target order, and whether it has the name.
///
/// `None` when `said(title)`: the same finding is in the report already
/// (a loop that reads the name again); then nothing is read for the
/// nearest names, which a poll would otherwise pay at every turn.
pub fn missing_on_some(
    ctx: &Ctx,
    order: &[(String, bool)],
    missing: Vec<(String, Error)>,
    said: impl FnOnce(&str) -> bool,
) -> Option<Finding> {
    let first = missing.first().map(|(_, e)| e);
    let (command, what) = match first {
        Some(Error::NoSuchServer { command, .. }) => (command.clone(), Unknown::Server),
        Some(Error::NoSuchBackend { command, .. }) => (command.clone(), Unknown::Backend),
        _ => (String::new(), Unknown::Backend),
    };
    let name = unknown_name(&command, what)
        .map(str::to_string)
        .unwrap_or_else(|| format!("`{command}`"));
    let (backend, server) = match name.split_once('/') {
        Some((b, s)) => (b.to_string(), Some(s.to_string())),
        None => (name.clone(), None),
    };
    let d = Disagreement {
        backend,
        server,
        field: Field::Present,
        values: order
            .iter()
            .map(|(t, has)| (t.clone(), Value::Bool(*has)))
            .collect(),
    };
    let have: Vec<&str> = order
        .iter()
        .filter(|(_, has)| *has)
        .map(|(t, _)| t.as_str())
        .collect();
    let title = format!(
        "{}: {} differs: {}",
        d.name(),
        d.field.as_str(),
        d.summary()
    );
    if said(&title) {
        return None;
    }
    let why: Vec<String> = missing
        .into_iter()
        .map(|(_, e)| explained(ctx, e).to_string())
        .collect();
    Some(Finding::new(
        Severity::Warning,
        "fleet.disagreement",
        title,
        )
    .detail(format!(
        "`{command}`: the results hold what {} answered, nothing of the others: {}. Some targets do not have it: their configurations differ (a reload or a deployment that did not reach every host or process)",
        have.join(", "),
        why.join("; ")
    ))
    .evidence_capped(d.values.iter().map(|(t, v)| format!("{t}: {v}")))
    .advice("compare the configurations (`harun -i INVENTORY -e 'config()'` or diff the files) and reload the hosts that lag; to read the targets that have it only, narrow them (`-l`, `-s`)"))
}

/// HAProxy answers `show stat PROXY` for a proxy it does not have with a
/// plain `No such proxy.`: the same miss as `No such backend.`, one kind.
pub(super) fn no_such_proxy(e: Error) -> Error {
    match e {
        Error::Haproxy {
            target,
            command,
            message,
        } if message.trim_end().starts_with("No such proxy") => Error::NoSuchBackend {
            target,
            command,
            note: String::new(),
        },
        e => e,
    }
}

/// A bare server name (`app1`) that no backend of `targets` has: a
/// `no_such_server` on the listing it was looked up in, with the nearest
/// `backend/server` names of that listing.
pub fn bare_server_unknown(targets: &[String], name: &str, known: &[(String, String)]) -> Error {
    let full: Vec<String> = known.iter().map(|(b, s)| format!("{b}/{s}")).collect();
    let mut near = suggest::nearest(name, full.iter().map(String::as_str));
    // `app1` is a part of `bk_app/app1`, a typo of `bk_app/app11`'s server:
    // also rank by the server part alone.
    if near.is_empty() {
        let by_server: Vec<&str> = known
            .iter()
            .zip(&full)
            .filter(|((_, s), _)| !suggest::nearest(name, [s.as_str()]).is_empty())
            .map(|(_, f)| f.as_str())
            .collect();
        near = by_server.into_iter().take(3).collect();
    }
    Error::NoSuchServer {
        target: targets.join(", "),
        command: "show servers state".into(),
        note: format!(
            ": no backend has a server named `{name}` (write `backend/server`; `servers()` lists them){}",
            suggest::did_you_mean(&near)
        ),
    }
}

fn target_named(ctx: &Ctx, name: &str) -> Option<Arc<Target>> {
    let targets = ctx.client.targets();
    targets
        .iter()
        .find(|t| t.name() == name)
        .or(match targets {
            [only] => Some(only),
            _ => None,
        })
        .cloned()
}

/// A read for the suggestion only: its failure leaves no suggestion, never
/// a second error in place of the first.
fn read(ctx: &Ctx, t: &Target, command: &str) -> Option<String> {
    let cmd = Command::raw(command).ok()?;
    ctx.block_on(async { Ok(t.send(&cmd).await) }).ok()?.ok()
}

/// `show backend`: `# name`, then one backend per line.
fn backends(ctx: &Ctx, t: &Target) -> Vec<String> {
    read(ctx, t, "show backend")
        .map(|text| backend_names(&text))
        .unwrap_or_default()
}

fn backend_names(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Frontends and backends (`show stat` takes either), from `show stat -1 3 -1`.
fn proxies(ctx: &Ctx, t: &Target) -> Vec<String> {
    let Ok(cmd) = Command::raw("show stat -1 3 -1") else {
        return Vec::new();
    };
    let Some(Ok(st)) = ctx.block_on(async { Ok(t.stat(&cmd).await) }).ok() else {
        return Vec::new();
    };
    let Some(px) = st.index("pxname") else {
        return Vec::new();
    };
    let mut names: Vec<String> = st
        .rows
        .iter()
        .filter(|r| {
            matches!(
                r.proxy_type(),
                Some(ProxyType::Frontend | ProxyType::Backend)
            )
        })
        .map(|r| r.raw(px).to_string())
        .collect();
    names.dedup();
    names
}

/// `backend/server` of every server of `backend`.
fn servers(ctx: &Ctx, t: &Target, backend: &str) -> Vec<String> {
    if backend.is_empty() {
        return Vec::new();
    }
    read(ctx, t, &format!("show servers state {backend}"))
        .and_then(|text| parse_servers_state(&text).ok())
        .map(|states| {
            states
                .into_iter()
                .map(|s| format!("{}/{}", s.be_name, s.srv_name))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_backend_lists_names_under_its_header() {
        assert_eq!(
            backend_names("# name\nbk_app\nbk_api\n\n"),
            ["bk_app", "bk_api"]
        );
    }

    #[test]
    fn no_such_proxy_is_a_missing_backend() {
        let e = no_such_proxy(Error::Haproxy {
            target: "/run/haproxy/admin.sock".into(),
            command: "show stat bk_ap -1 -1".into(),
            message: "No such proxy.".into(),
        });
        assert_eq!(e.kind(), "no_such_backend");
        assert_eq!(
            e.to_string(),
            "/run/haproxy/admin.sock: no such frontend or backend `bk_ap` (`show stat bk_ap -1 -1`)"
        );
        let other = no_such_proxy(Error::Haproxy {
            target: "t".into(),
            command: "set server bk/s weight 5".into(),
            message: "Backend is using a static LB algorithm.".into(),
        });
        assert_eq!(other.kind(), "haproxy_error");
    }

    #[test]
    fn a_bare_name_suggests_full_names() {
        let known = [
            ("bk_app".to_string(), "app1".to_string()),
            ("bk_app".to_string(), "app2".to_string()),
            ("bk_api".to_string(), "api1".to_string()),
        ];
        let e = bare_server_unknown(&["/run/haproxy/admin.sock".into()], "ap1", &known);
        assert_eq!(e.kind(), "no_such_server");
        let msg = e.to_string();
        assert!(msg.contains("no backend has a server named `ap1`"), "{msg}");
        assert!(msg.contains("did you mean `bk_app/app1`"), "{msg}");
        assert!(msg.starts_with("/run/haproxy/admin.sock: "), "{msg}");
    }
}
