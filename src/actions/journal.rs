//! The append-only audit journal: one JSON line per write sent (or planned) to HAProxy.
//!
//! Each line is written with its own `write(2)` before the next command is
//! sent, so a killed harun loses no entry; `fsync` runs at most once a second
//! and at the end of the run so bulk changes stay fast.

use crate::base::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// One journal line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub time: String,
    pub user: String,
    pub host: String,
    pub target: String,
    pub command: String,
    /// `sent`, `dry-run`, `refused` or `failed`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playbook: Option<String>,
}

pub struct Journal {
    path: PathBuf,
    file: Mutex<(File, Option<Instant>)>,
    user: String,
    host: String,
}

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
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A new entry stamped with now, the user and the host.
    pub fn entry(&self, target: &str, command: &str, outcome: &str) -> Entry {
        Entry {
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
        }
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

/// The last `n` entries of a journal file. Lines that do not parse are skipped
/// and counted, so a torn last line never hides the rest.
pub fn tail(path: &Path, n: usize) -> Result<(Vec<Entry>, usize)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut entries = std::collections::VecDeque::with_capacity(n.min(10_000));
    let mut bad = 0;
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Entry>(&line) {
            Ok(e) => {
                if entries.len() == n {
                    entries.pop_front();
                }
                if n > 0 {
                    entries.push_back(e);
                }
            }
            Err(_) => bad += 1,
        }
    }
    Ok((entries.into_iter().collect(), bad))
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
