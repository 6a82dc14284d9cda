//! Incident bundles: `bundle`, `save`, `send_each`, `recorded_findings`.
//!
//! Sandbox: a playbook can only write into directories that `bundle()`
//! created with this Ctx (a run, a REPL session or an embedding Runner), and
//! only plain file names inside them; a file is never overwritten.

use super::convert::to_json;
use super::ctx::Ctx;
use super::errors::{invalid, to_rhai};
use super::fns_config::kind_error;
use super::reg;
use crate::base::error::Error;
use crate::base::report::Severity;
use crate::runtime::Command;
use crate::system::FindingDoc;
use rhai::{Dynamic, Engine, EvalAltResult, Map};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

type R<T> = Result<T, Box<EvalAltResult>>;

/// Prefix of every bundle directory.
pub const BUNDLE_PREFIX: &str = "harun-snapshot-";

/// `20261130T124501Z` for a UTC time (seconds precision).
pub fn compact_utc(t: SystemTime) -> String {
    // RFC 3339 `2026-11-30T12:45:01Z` without its separators.
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect()
}

/// Why `name` is not a plain file name a bundle may hold, if it is not.
pub fn check_file_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name.len() > 255 {
        return Err("is longer than 255 bytes");
    }
    if name.contains('/') {
        return Err("contains `/`: give a plain file name, no directory");
    }
    if name.contains("..") || name == "." {
        return Err("contains `..` (or is `.`): give a plain file name");
    }
    if name.contains('\0') {
        return Err("contains a NUL byte");
    }
    if name.chars().any(char::is_control) {
        return Err("contains a control character");
    }
    Ok(())
}

fn io_error(path: &Path, e: std::io::Error) -> Box<EvalAltResult> {
    to_rhai(Error::io(path, e))
}

/// Create `<parent>/harun-snapshot-<UTC>` (mode 0700) and remember it.
fn bundle(ctx: &Ctx, parent: &str) -> R<String> {
    if parent.is_empty() || parent.contains('\0') {
        return Err(invalid(
            "bundle parent directory",
            parent.escape_debug().to_string(),
            "expected a directory path",
        ));
    }
    let parent = Path::new(parent);
    if !parent.is_dir() {
        return Err(kind_error(
            "io",
            format!(
                "{}: not a directory: create it first or pass another (-p dir=PATH / --output-dir PATH)",
                parent.display()
            ),
        ));
    }
    let stamp = compact_utc(SystemTime::now());
    let mut builder = std::fs::DirBuilder::new();
    {
        use std::os::unix::fs::DirBuilderExt;
        // Bundles hold error captures and configuration checks: owner only.
        builder.mode(0o700);
    }
    // Two snapshots in the same second (a bot, a loop) get `-2`, `-3`, ...:
    // never an existing directory, never an error for it.
    let mut dir = parent.join(format!("{BUNDLE_PREFIX}{stamp}"));
    let mut n = 1;
    loop {
        match builder.create(&dir) {
            Ok(()) => break,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => {
                n += 1;
                dir = parent.join(format!("{BUNDLE_PREFIX}{stamp}-{n}"));
            }
            Err(e) => return Err(io_error(&dir, e)),
        }
    }
    let canonical = dir.canonicalize().map_err(|e| io_error(&dir, e))?;
    ctx.note_bundle(canonical.clone());
    Ok(canonical.display().to_string())
}

/// The bundle directory `path` names, if `bundle()` created it with this Ctx.
fn owned_bundle(ctx: &Ctx, path: &str) -> R<PathBuf> {
    let refuse = || {
        invalid(
            "bundle",
            path.escape_debug().to_string(),
            "not a directory created by bundle() in this run: save() writes only into bundles it created",
        )
    };
    if path.is_empty() || path.contains('\0') {
        return Err(refuse());
    }
    let canonical = Path::new(path).canonicalize().map_err(|_| refuse())?;
    if ctx.owns_bundle(&canonical) {
        Ok(canonical)
    } else {
        Err(refuse())
    }
}

/// The bytes `save` writes: a string as is, anything else as pretty JSON.
fn content_bytes(content: &Dynamic) -> Vec<u8> {
    if content.is_string() {
        content
            .clone()
            .into_string()
            .unwrap_or_default()
            .into_bytes()
    } else {
        let mut s = serde_json::to_string_pretty(&to_json(content)).unwrap_or_default();
        s.push('\n');
        s.into_bytes()
    }
}

fn save(ctx: &Ctx, bundle: &str, name: &str, content: &Dynamic) -> R<String> {
    let dir = owned_bundle(ctx, bundle)?;
    check_file_name(name)
        .map_err(|reason| invalid("file name", name.escape_debug().to_string(), reason))?;
    let path = dir.join(name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        // Never overwrite, never follow something planted there.
        .create_new(true)
        .open(&path)
        .map_err(|e| io_error(&path, e))?;
    f.write_all(&content_bytes(content))
        .and_then(|_| f.flush())
        .map_err(|e| io_error(&path, e))?;
    Ok(path.display().to_string())
}

/// `send_each(cmd)`: a read command on every target, each outcome kept.
fn send_each(ctx: &Ctx, raw: &str) -> R<Map> {
    let cmd = Command::raw(raw).map_err(to_rhai)?;
    if cmd.is_write() {
        return Err(invalid(
            "command",
            raw,
            "send_each() only reads (show/get/help/echo): use send() for writes",
        ));
    }
    if ctx.client.is_empty() {
        return Err(super::fns_runtime::no_targets());
    }
    let results = ctx
        .block_on(async { Ok(ctx.client.send_all(&cmd).await) })
        .map_err(to_rhai)?;
    let now = SystemTime::now();
    let mut out = Map::new();
    for (target, r) in results {
        let mut m = Map::new();
        // When the reply arrived (in a replay: when the snapshot got it),
        // for rates between samples.
        let at = ctx
            .client
            .targets()
            .iter()
            .find(|t| t.name() == target)
            .and_then(|t| t.replay())
            .map_or(Some(now), |r| r.last_at());
        m.insert(
            "at".into(),
            at.map(|t| Dynamic::from(humantime::format_rfc3339_micros(t).to_string()))
                .unwrap_or(Dynamic::UNIT),
        );
        match r {
            Ok(text) => {
                m.insert("ok".into(), true.into());
                m.insert("reply".into(), text.into());
                m.insert("error".into(), Dynamic::UNIT);
                m.insert("kind".into(), Dynamic::UNIT);
                m.insert("advice".into(), Dynamic::UNIT);
            }
            Err(e) if e.is_terminal() => return Err(to_rhai(e)),
            Err(e) => {
                let e = super::names::explained(ctx, e);
                m.insert("ok".into(), false.into());
                m.insert("reply".into(), Dynamic::UNIT);
                m.insert("error".into(), e.to_string().into());
                m.insert("kind".into(), e.kind().into());
                let advice = crate::diagnose::reach::advice_for(&e, &[]).map(|(_, a)| a);
                m.insert(
                    "advice".into(),
                    advice.map(Dynamic::from).unwrap_or(Dynamic::UNIT),
                );
            }
        }
        out.insert(target.into(), Dynamic::from_map(m));
    }
    Ok(out)
}

/// Where a configuration file from the host goes in a bundle: under
/// `config/`, at its own path (`/etc/haproxy/conf.d/a.cfg` ->
/// `config/etc/haproxy/conf.d/a.cfg`), so the layout HAProxy read is kept.
pub fn config_copy_name(original: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::from("config");
    for c in original.components() {
        match c {
            Component::Normal(n) => out.push(n),
            // A relative `../x.cfg` must not climb out of the bundle.
            Component::ParentDir => out.push("__"),
            _ => {}
        }
    }
    out
}

/// Copy one configuration file into the bundle (dirs 0700, never overwriting).
fn copy_config(dir: &Path, name: &Path, from: &Path) -> crate::base::error::Result<()> {
    let text =
        crate::config::model::read_config_file(from).map_err(|e| Error::Other(e.to_string()))?;
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| Error::io(parent, e))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.flush())
        .map_err(|e| Error::io(&path, e))
}

/// `save_config(bundle)`: every configuration file HAProxy reads (those of
/// `-c`, a directory's `*.cfg` in order), copied into the bundle.
fn save_config(ctx: &Ctx, bundle: &str) -> R<Map> {
    let dir = owned_bundle(ctx, bundle)?;
    let paths = ctx.config_paths();
    // In a replay the copies come from the replayed bundle.
    let sources: Vec<(PathBuf, PathBuf)> = match super::replayed::bundle_for(ctx, &paths) {
        Some(b) if !b.config_files().is_empty() => b.config_files().to_vec(),
        _ => match super::fns_config::load_model(ctx, &paths)?.as_ref() {
            Ok(m) => m.files.iter().map(|f| (f.clone(), f.clone())).collect(),
            Err(e) => return Err(kind_error("config_unreadable", e.to_string())),
        },
    };
    let mut files = rhai::Array::new();
    for (original, from) in sources {
        let name = config_copy_name(&original);
        let mut m = Map::new();
        m.insert("file".into(), name.display().to_string().into());
        m.insert("source".into(), original.display().to_string().into());
        match copy_config(&dir, &name, &from) {
            Ok(()) => {
                m.insert("ok".into(), true.into());
                m.insert("error".into(), Dynamic::UNIT);
            }
            Err(e) => {
                m.insert("ok".into(), false.into());
                m.insert("error".into(), e.to_string().into());
            }
        }
        files.push(Dynamic::from_map(m));
    }
    let mut out = Map::new();
    out.insert(
        "paths".into(),
        Dynamic::from_array(
            paths
                .iter()
                .map(|p| Dynamic::from(p.display().to_string()))
                .collect(),
        ),
    );
    out.insert("files".into(), Dynamic::from_array(files));
    Ok(out)
}

pub fn register(engine: &mut Engine, ctx: &Arc<Ctx>) {
    let c = ctx.clone();
    reg("save_config", &["bundle: String", "Map"], "Copy every configuration file HAProxy reads (the `-c` files, a directory's\n`*.cfg` in HAProxy's order) into a bundle `bundle()` created, under `config/`\nat their own path (`/etc/haproxy/haproxy.cfg` -> `config/etc/haproxy/haproxy.cfg`):\n`#{paths: [the -c paths], files: [#{file, source, ok, error}]}`. Existing files\nare never overwritten. A configuration that cannot be read raises\n`e.kind == \"config_unreadable\"`.")
        .register_into_engine(engine, move |b: &str| save_config(&c, b));
    let c = ctx.clone();
    reg("bundle", &["parent: String", "String"], "Create an incident bundle directory `<parent>/harun-snapshot-<UTC time>`\n(`20261130T124501Z`, then `-2`, `-3` within the same second; mode 0700) and\nreturn its absolute path. Never reuses an existing one; an unwritable parent is a catchable\nerror naming the path (`e.kind == \"io\"`). Works with --dry-run and\n--read-only: it writes locally, never to HAProxy.")
        .register_into_engine(engine, move |parent: &str| bundle(&c, parent));
    let c = ctx.clone();
    reg(
        "bundle",
        &["String"],
        "`bundle(parent)` in `--output-dir` (default `.`).",
    )
    .register_into_engine(engine, move || {
        let parent = c.settings.output_dir.display().to_string();
        bundle(&c, &parent)
    });
    let c = ctx.clone();
    reg("save", &["bundle: String", "name: String", "content: ?", "String"], "Write one file into a bundle that `bundle()` created in this run (any other\ndirectory is refused) and return its path. `name` is a plain file name (no `/`,\nno `..`, no NUL, not empty); an existing file is never overwritten. A string\nis written as is, any other value as pretty JSON.")
        .register_into_engine(engine, move |b: &str, name: &str, content: Dynamic| save(&c, b, name, &content));
    let c = ctx.clone();
    reg("send_each", &["command: String", "Map"], "Send one read command (`show ...`, `get ...`) to every target and keep each\noutcome: `#{<target>: #{ok, reply, error, kind, at}}` (`at`: RFC 3339 UTC time of the\nreply; in a replay, the recorded one). A target that fails (unknown\ncommand on an old version, unreachable) does not raise and records nothing:\n`ok` is false and `error`/`kind` say why. Ctrl-C and --max-time still stop it.")
        .register_into_engine(engine, move |cmd: &str| send_each(&c, cmd));
    let c = ctx.clone();
    reg(
        "recorded_findings",
        &["Array"],
        "The findings recorded so far in this run (keys below).",
    )
    .register_into_engine(engine, move || -> rhai::Array {
        c.findings().iter().map(super::convert::finding).collect()
    });
}

/// Every finding id the `snapshot` playbook emits.
pub fn finding_docs() -> &'static [FindingDoc] {
    FINDING_DOCS
}

static FINDING_DOCS: &[FindingDoc] = &[
    FindingDoc {
        id: "snapshot.saved",
        severity: Severity::Ok,
        title: "Incident bundle saved",
        meaning: "The `snapshot` playbook wrote show info, two samples of show stat, show servers state, show errors, show activity, show cli level and show backend (per target), the `haproxy -c` result, `haproxy -vv`, a copy of the configuration files, the host facts (irqbalance, CPUs, rsyslog) and the findings into a new `harun-snapshot-<UTC time>` directory; the evidence is its path.",
        fix: "Attach the directory to the incident ticket (`tar czf snapshot.tgz harun-snapshot-*`); it is readable by its owner only. Replay it in the post-mortem: `harun --replay DIR troubleshoot`.",
    },
    FindingDoc {
        id: "snapshot.partial",
        severity: Severity::Warning,
        title: "Part of the snapshot could not be taken",
        meaning: "A target did not answer one of the commands (unreachable, timeout, or `Unknown command` on an older HAProxy: `show activity` needs 1.9+, `show cli level` 2.4+), there was no HAProxy socket, `haproxy -c`/`-vv` could not run, or the configuration could not be read or copied. The bundle holds everything else; the failing file holds the error text (a replay serves that error again).",
        fix: "Check the evidence: for an unreachable target, check the socket (`-s ADDR`, `stats socket` line); for an unknown command, nothing to do (older HAProxy).",
    },
    FindingDoc {
        id: "snapshot.unreachable",
        severity: Severity::Critical,
        title: "No HAProxy socket answered: the snapshot has no live state",
        meaning: "Every target failed every command (HAProxy down, wrong socket path, no permission). The bundle still holds `haproxy -c`, the configuration and the findings; the run exits 3.",
        fix: "`systemctl status haproxy`; check the socket path and permissions against the `stats socket` line (`-s ADDR`), then take the snapshot again.",
    },
    FindingDoc {
        id: "snapshot.failed",
        severity: Severity::Error,
        title: "The snapshot bundle could not be created",
        meaning: "The bundle directory could not be created (parent missing or not writable, or a snapshot taken the same second).",
        fix: "Pass a writable parent directory: `harun snapshot -p dir=/var/tmp` (or `--output-dir`).",
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn file_names_must_be_plain() {
        for ok in ["show_stat.txt", "a.b", "findings.json", "x"] {
            assert_eq!(check_file_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "/etc/passwd",
            "a\0b",
            "x..y",
            "a\nb",
        ] {
            assert!(check_file_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_file_name(&"a".repeat(256)).is_err());
    }

    #[test]
    fn timestamps_are_compact_utc() {
        let t = UNIX_EPOCH + Duration::from_secs(1_796_042_701);
        assert_eq!(compact_utc(t), "20261130T124501Z");
    }

    #[test]
    fn content_is_text_or_pretty_json() {
        assert_eq!(content_bytes(&Dynamic::from("raw\n".to_string())), b"raw\n");
        let mut m = Map::new();
        m.insert("a".into(), Dynamic::from_int(1));
        let text = String::from_utf8(content_bytes(&Dynamic::from_map(m))).unwrap();
        assert_eq!(text, "{\n  \"a\": 1\n}\n");
    }
}
