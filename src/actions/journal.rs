//! The append-only audit journal: JSON lines, one per write planned, refused
//! or done, so a killed harun loses no entry.
//!
//! A write is journaled twice: an intent line (`outcome: "sending"`, with
//! the state before) written before the command goes out, and its outcome
//! line (same `id`) once HAProxy answered. A harun killed in between leaves
//! the intent: every command HAProxy may have received is in the journal.
//! A batch's intents go out in one `write(2)` and are synced before the
//! batch is sent; other lines are synced at most once a second and at the
//! end of the run, so bulk changes stay fast. [`tail`] folds each intent
//! into its outcome.

use crate::base::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// A server's state as the journal records it before and after a write
/// (from `show servers state`): the operational state, the admin bit mask
/// in decimal as HAProxy prints it with its flags named, and the weight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerSnapshot {
    pub op_state: std::borrow::Cow<'static, str>,
    pub admin_state: u32,
    pub admin_flags: Vec<std::borrow::Cow<'static, str>>,
    pub drain: bool,
    pub maint: bool,
    pub weight: Option<i64>,
}

impl ServerSnapshot {
    /// From the fields of a `show servers state` line.
    pub fn new(op: i64, admin: u32, weight: Option<i64>) -> ServerSnapshot {
        use crate::runtime::servers_state::{AdminState, OpState};
        let a = AdminState(admin);
        ServerSnapshot {
            op_state: OpState::from_code(op).as_str().into(),
            admin_state: admin,
            admin_flags: a.flags().into_iter().map(Into::into).collect(),
            drain: a.is_drain(),
            maint: a.is_maint(),
            weight,
        }
    }
}

/// One journal line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Pairs a write's intent line with its outcome line (`RUN/N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub time: String,
    pub user: String,
    pub host: String,
    pub target: String,
    pub command: String,
    /// `sending` (the intent, before the command goes out), then `sent`,
    /// `failed` or `unknown` (sent, no readable reply); or, for what is
    /// never sent, `dry-run`, `refused` or `skipped`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<ServerSnapshot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<ServerSnapshot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playbook: Option<String>,
    /// In a rolling change (`--serial`): the group the write went in,
    /// `2/3` (second of three), with the setting: `2/3 of --serial 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

pub struct Journal {
    path: PathBuf,
    file: Mutex<(File, Option<Instant>)>,
    user: String,
    host: String,
    /// This journal's writer, unique enough to pair intents with outcomes:
    /// the process id and when it opened the journal.
    run: String,
    next_id: std::sync::atomic::AtomicU64,
    /// The group of a rolling change written now, stamped on every entry.
    group: Mutex<Option<String>>,
}

/// The outcome of an intent line: the command is about to be sent.
pub const SENDING: &str = "sending";

const SYNC_EVERY: Duration = Duration::from_secs(1);

impl Journal {
    /// `$XDG_STATE_HOME/harun/journal.jsonl` (`~/.local/state/harun/journal.jsonl`).
    pub fn default_path() -> PathBuf {
        dirs::state_dir()
            .or_else(|| dirs::home_dir().map(|h| h.join(".local/state")))
            .unwrap_or_else(std::env::temp_dir)
            .join("harun")
            .join("journal.jsonl")
    }

    pub fn open(path: impl Into<PathBuf>) -> Result<Journal> {
        let path = path.into();
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(Journal {
            path,
            file: Mutex::new((file, None)),
            user: current_user(),
            host: hostname(),
            run: format!(
                "{}.{}",
                std::process::id(),
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| d.as_micros())
                    .unwrap_or_default()
            ),
            next_id: std::sync::atomic::AtomicU64::new(1),
            group: Mutex::new(None),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A new entry stamped with now, the user and the host.
    pub fn entry(&self, target: &str, command: &str, outcome: &str) -> Entry {
        Entry {
            id: None,
            time: humantime::format_rfc3339_micros(SystemTime::now()).to_string(),
            user: self.user.clone(),
            host: self.host.clone(),
            target: target.to_string(),
            command: command.to_string(),
            outcome: outcome.to_string(),
            reply: None,
            error: None,
            before: None,
            after: None,
            playbook: None,
            group: self.group.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }

    /// Stamp the entries made from now on with the group of a rolling
    /// change (`None` once it is done).
    pub fn set_group(&self, group: Option<String>) {
        *self.group.lock().unwrap_or_else(|p| p.into_inner()) = group;
    }

    /// The intent line of a write about to be sent: a fresh `id`, which
    /// its outcome line ([`Journal::outcome`]) repeats.
    pub fn intent(&self, target: &str, command: &str) -> Entry {
        let n = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut e = self.entry(target, command, SENDING);
        e.id = Some(format!("{}/{n}", self.run));
        e
    }

    /// The outcome line of `intent`, stamped now.
    pub fn outcome(&self, intent: &Entry, outcome: &str) -> Entry {
        let mut e = self.entry(&intent.target, &intent.command, outcome);
        e.id = intent.id.clone();
        e.before = intent.before.clone();
        e.playbook = intent.playbook.clone();
        e
    }

    /// A batch's intent lines in one `write(2)`, synced to disk before the
    /// batch is sent (one `fdatasync` per batch).
    pub fn record_intents(&self, entries: &[Entry]) -> Result<()> {
        self.record_all(entries)?;
        if !entries.is_empty() {
            self.sync()?;
        }
        Ok(())
    }

    /// Append one line with a single `write`.
    pub fn record(&self, entry: &Entry) -> Result<()> {
        self.record_all(std::slice::from_ref(entry))
    }

    /// Several entries in one `write(2)` (a batch's chunk), synced like
    /// [`Journal::record`].
    pub fn record_all(&self, entries: &[Entry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut line = Vec::with_capacity(512 * entries.len());
        for entry in entries {
            serde_json::to_writer(&mut line, entry).map_err(|e| Error::Other(e.to_string()))?;
            line.push(b'\n');
        }
        let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let (file, last_sync) = &mut *guard;
        file.write_all(&line)
            .map_err(|e| Error::io(&self.path, e))?;
        // The first line of a run is synced at once, later ones at most once per
        // SYNC_EVERY (bulk changes stay fast; `sync` ends the run).
        if last_sync.is_none_or(|t| t.elapsed() >= SYNC_EVERY) {
            file.sync_data().map_err(|e| Error::io(&self.path, e))?;
            *last_sync = Some(Instant::now());
        }
        Ok(())
    }

    pub fn sync(&self) -> Result<()> {
        let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        guard.0.sync_data().map_err(|e| Error::io(&self.path, e))?;
        guard.1 = Some(Instant::now());
        Ok(())
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.sync();
    }
}

/// The last `n` entries of a journal file, each intent folded into its
/// outcome: an intent line shows only when no outcome followed it (harun
/// was killed, or is still waiting for HAProxy). Lines that do not parse
/// are skipped and counted, so a torn last line never hides the rest.
pub fn tail(path: &Path, n: usize) -> Result<(Vec<Entry>, usize)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    // An outcome always follows its intent, so folding a suffix of the file
    // is exact; at most half of a suffix folds away, so 2n lines are enough.
    let window = n.saturating_mul(2).max(1);
    let mut entries = std::collections::VecDeque::with_capacity(window.min(20_000));
    let mut bad = 0;
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Entry>(&line) {
            Ok(e) => {
                if entries.len() == window {
                    entries.pop_front();
                }
                entries.push_back(e);
            }
            Err(_) => bad += 1,
        }
    }
    let mut folded: Vec<Entry> = fold(entries.into_iter().collect());
    let skip = folded.len().saturating_sub(n);
    Ok((folded.split_off(skip), bad))
}

/// Drop every intent line whose outcome line follows it.
pub fn fold(entries: Vec<Entry>) -> Vec<Entry> {
    let answered: std::collections::HashSet<&str> = entries
        .iter()
        .filter(|e| e.outcome != SENDING)
        .filter_map(|e| e.id.as_deref())
        .collect();
    let keep: Vec<bool> = entries
        .iter()
        .map(|e| e.outcome != SENDING || !e.id.as_deref().is_some_and(|id| answered.contains(id)))
        .collect();
    entries
        .into_iter()
        .zip(keep)
        .filter_map(|(e, k)| k.then_some(e))
        .collect()
}

/// Who ran the write, from the real uid (environment variables can lie or be
/// missing under cron and systemd): `alice (uid 1000)`, `root (uid 0, sudo by alice)`.
fn current_user() -> String {
    let uid = unsafe { libc::getuid() };
    let name = user_name(uid).unwrap_or_else(|| "?".into());
    match std::env::var("SUDO_USER").ok().filter(|u| !u.is_empty()) {
        Some(by) => format!("{name} (uid {uid}, sudo by {by})"),
        None => format!("{name} (uid {uid})"),
    }
}

fn user_name(uid: libc::uid_t) -> Option<String> {
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer refers to live storage of the advertised size;
    // `pw_name` points into `buf`, which outlives the CStr read below.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_comes_from_the_real_uid() {
        assert_eq!(user_name(0).as_deref(), Some("root"));
        let me = current_user();
        assert!(
            me.contains(&format!("(uid {}", unsafe { libc::getuid() })),
            "{me}"
        );
    }

    #[test]
    fn intents_fold_into_their_outcomes_and_stay_when_none_came() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let j = Journal::open(&path).unwrap();
        let intents: Vec<Entry> = (0..3)
            .map(|i| j.intent("t", &format!("set server bk/s{i} state drain")))
            .collect();
        j.record_intents(&intents).unwrap();
        // Outcomes for the first two only: harun "died" before the third.
        let outcomes: Vec<Entry> = intents[..2].iter().map(|i| j.outcome(i, "sent")).collect();
        j.record_all(&outcomes).unwrap();
        drop(j);
        let raw = std::fs::read_to_string(&path).unwrap();
        assert_eq!(raw.lines().count(), 5);
        let (entries, bad) = tail(&path, 10).unwrap();
        assert_eq!(bad, 0);
        let seen: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e.command.as_str(), e.outcome.as_str()))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("set server bk/s2 state drain", "sending"),
                ("set server bk/s0 state drain", "sent"),
                ("set server bk/s1 state drain", "sent"),
            ]
        );
        assert_eq!(entries[1].id, intents[0].id);
        // The window of a small tail still folds exactly.
        let (last, _) = tail(&path, 1).unwrap();
        assert_eq!(last[0].command, "set server bk/s1 state drain");
        assert_eq!(last[0].outcome, "sent");
    }

    #[test]
    fn records_lines_and_tails_them_skipping_torn_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/journal.jsonl");
        let j = Journal::open(&path).unwrap();
        for i in 0..5 {
            let mut e = j.entry(
                "/tmp/a.sock",
                &format!("set server bk/s{i} state drain"),
                "sent",
            );
            e.reply = Some(String::new());
            j.record(&e).unwrap();
        }
        drop(j);
        // A torn line, as a crash mid-write could leave.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"time\":\"2026").unwrap();
        let (entries, bad) = tail(&path, 3).unwrap();
        assert_eq!(bad, 1);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[2].command, "set server bk/s4 state drain");
        assert!(!entries[0].user.is_empty());
    }
}
