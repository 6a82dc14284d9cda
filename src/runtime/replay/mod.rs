//! Offline replay: a bundle the `snapshot` playbook wrote, opened as the
//! targets of a run (`-s replay@DIR`, `--replay DIR`).
//!
//! The runtime API replies become one [`ReplyStore`] per recorded target,
//! served by [`crate::runtime::Target`] like a socket would. What the rest
//! of harun asks the host (`haproxy -c`, `haproxy -vv`, the configuration
//! files, irqbalance, CPUs, rsyslog) is read from the bundle too through
//! [`Bundle::recorded`] and [`Bundle::config_files`]: a post-mortem must
//! describe the day of the incident, never today's host.

pub mod index;
mod showstat;
pub mod store;

pub use index::{Entry, Index, FORMAT, VERSION};
pub use store::{Recorded, ReplyStore, Sample};

use crate::base::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// Largest file read from a bundle: well above the default reply cap
/// (`--max-reply-mb`), so a reply recorded with a raised cap still opens.
const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// An opened snapshot bundle.
#[derive(Debug)]
pub struct Bundle {
    dir: PathBuf,
    version: u64,
    taken: Option<String>,
    targets: Vec<Arc<ReplyStore>>,
    config_paths: Vec<PathBuf>,
    /// (path on the host, copy in the bundle), in the order HAProxy read them.
    config_files: Vec<(PathBuf, PathBuf)>,
    /// What is missing or failed on the day, one line each, naming the file.
    problems: Vec<String>,
    /// Host-side records: `haproxy -c`, `haproxy -vv`, `host`.
    recorded: BTreeMap<String, Sample>,
    /// Records read only when asked: `config()` (the model as JSON, large
    /// on a big configuration, and needed only without the files' copies).
    lazy: BTreeMap<String, PathBuf>,
}

fn read_limited(path: &Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "not a regular file of at most {MAX_FILE_BYTES} bytes"
        )));
    }
    let bytes = std::fs::read(path)?;
    Ok(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into()))
}

impl Bundle {
    /// Open `dir`; a directory that is not a harun snapshot, or holds none
    /// of its files, is a [`Error::BadBundle`] naming the file. Files that
    /// are missing or hold the error of the day are listed in
    /// [`Bundle::problems`]: the bundle replays what it holds.
    pub fn open(dir: &Path) -> Result<Bundle> {
        let bad = |path: &Path, reason: String| Error::BadBundle {
            path: path.to_path_buf(),
            reason,
        };
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(bad(dir, "not a directory".into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(bad(dir, "no such directory".into()))
            }
            Err(e) => return Err(bad(dir, e.to_string())),
        }
        let index_path = dir.join("index.json");
        let text = match read_limited(&index_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(bad(
                    dir,
                    "no index.json: not a bundle written by harun's snapshot playbook (`harun snapshot` writes harun-snapshot-<UTC time>/index.json)".into(),
                ))
            }
            Err(e) => return Err(bad(&index_path, e.to_string())),
        };
        let index = index::parse_index(&text).map_err(|reason| bad(&index_path, reason))?;
        Bundle::from_index(dir, index)
    }

    fn from_index(dir: &Path, index: Index) -> Result<Bundle> {
        let mut b = Bundle {
            dir: dir.to_path_buf(),
            version: index.version,
            taken: index.taken.clone(),
            targets: Vec::new(),
            config_paths: index.config_paths.iter().map(PathBuf::from).collect(),
            config_files: Vec::new(),
            problems: Vec::new(),
            recorded: BTreeMap::new(),
            lazy: BTreeMap::new(),
        };
        let mut stores: Vec<ReplyStore> = index
            .targets
            .iter()
            .map(|t| ReplyStore::new(t.clone(), dir))
            .collect();
        let mut present = 0usize;
        for e in &index.files {
            let path = dir.join(&e.file);
            let Some(command) = e.command.as_deref() else {
                continue; // findings.json and the like: for people, not replay
            };
            if command == "config file" {
                match (&e.source, path.is_file()) {
                    (Some(src), true) => {
                        present += 1;
                        b.config_files.push((PathBuf::from(src), path));
                    }
                    (Some(src), false) => b
                        .problems
                        .push(format!("{}: the copy of {src} is missing", path.display())),
                    (None, _) => b.problems.push(format!(
                        "{}: a configuration copy without its `source` in index.json",
                        path.display()
                    )),
                }
                continue;
            }
            if command == "config()" && e.target.is_none() {
                if path.is_file() {
                    present += 1;
                    b.lazy.insert(command.to_string(), path);
                }
                continue;
            }
            let text = match read_limited(&path) {
                Ok(t) => t,
                Err(err) => {
                    b.problems.push(format!(
                        "{}: listed in index.json for `{command}` but unreadable: {err}",
                        path.display()
                    ));
                    continue;
                }
            };
            present += 1;
            let sample = Sample {
                at: e
                    .at
                    .as_deref()
                    .and_then(|a| humantime::parse_rfc3339(a).ok()),
                file: path.clone(),
                reply: Recorded::from_file(text, e.ok),
            };
            if let Recorded::Failed { kind, message } = &sample.reply {
                b.problems.push(format!(
                    "{}: `{command}` failed when the snapshot was taken ({kind}): {message}",
                    path.display()
                ));
            }
            match &e.target {
                Some(t) => {
                    let i = match stores.iter().position(|s| s.name() == t) {
                        Some(i) => i,
                        None => {
                            stores.push(ReplyStore::new(t.clone(), dir));
                            stores.len() - 1
                        }
                    };
                    stores[i].insert(command, sample);
                }
                None => {
                    b.recorded.insert(command.to_string(), sample);
                }
            }
        }
        if present == 0 {
            return Err(Error::BadBundle {
                path: dir.join("index.json"),
                reason: format!(
                    "none of the {} file(s) it lists is in {}",
                    index.files.len(),
                    dir.display()
                ),
            });
        }
        b.targets = stores.into_iter().map(Arc::new).collect();
        // Older snapshots did not note the `-c` paths: the files of their
        // `config.json` model stand for them.
        if b.config_paths.is_empty() {
            if let Ok(text) = b.recorded("config()") {
                #[derive(serde::Deserialize)]
                struct Files {
                    files: Vec<PathBuf>,
                }
                if let Ok(f) = serde_json::from_str::<Files>(&text) {
                    b.config_paths = f.files;
                }
            }
        }
        Ok(b)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// 1 for bundles taken before replay existed, 2 since.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// When the snapshot was taken (RFC 3339 UTC), when the index says.
    pub fn taken(&self) -> Option<&str> {
        self.taken.as_deref()
    }

    pub fn targets(&self) -> &[Arc<ReplyStore>] {
        &self.targets
    }

    /// The configuration as given to harun on the day (`-c`).
    pub fn config_paths(&self) -> &[PathBuf] {
        &self.config_paths
    }

    /// Every configuration file HAProxy read, (path on the host, copy in
    /// the bundle), in reading order; empty when the snapshot kept none.
    pub fn config_files(&self) -> &[(PathBuf, PathBuf)] {
        &self.config_files
    }

    /// Files missing, or holding the error of the day: one line each.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// What the snapshot recorded for `what` (`haproxy -c`, `haproxy -vv`,
    /// `host`): its text, the error of the day, or `not_recorded`.
    pub fn recorded(&self, what: &str) -> Result<String> {
        match self.recorded.get(what) {
            Some(Sample {
                reply: Recorded::Reply(t),
                ..
            }) => Ok(t.clone()),
            Some(Sample {
                reply: Recorded::Failed { kind, message },
                file,
                ..
            }) => Err(Error::Recorded {
                file: file.clone(),
                kind,
                message: message.clone(),
            }),
            None => match self.lazy.get(what) {
                Some(path) => read_limited(path).map_err(|e| Error::io(path, e)),
                None => Err(self.not_recorded(what)),
            },
        }
    }

    /// `what` is not in this bundle.
    pub fn not_recorded(&self, what: &str) -> Error {
        // The records by what they hold and the file a snapshot writes them to.
        let what = match what {
            "host" => "host facts (irqbalance, CPUs, rsyslog; host.json)".to_string(),
            "haproxy -vv" => "`haproxy -vv` (haproxy_vv.txt)".to_string(),
            "haproxy -c" => "`haproxy -c` (config_check.json)".to_string(),
            "config()" => "the configuration (config/, config.json)".to_string(),
            other => other.to_string(),
        };
        Error::NotRecorded {
            bundle: self.dir.clone(),
            what,
            hint: if self.version < VERSION {
                " (it was taken by an older harun, before snapshots recorded it)".into()
            } else {
                String::new()
            },
        }
    }

    /// When the file of `what` says it was taken.
    pub fn recorded_at(&self, what: &str) -> Option<SystemTime> {
        self.recorded.get(what).and_then(|s| s.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn bad_bundles_name_the_file_and_the_reason() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        let e = Bundle::open(&missing).unwrap_err();
        assert_eq!(e.kind(), "bad_bundle");
        assert!(
            e.to_string()
                .contains("nope: not a usable replay bundle: no such directory"),
            "{e}"
        );
        let e = Bundle::open(tmp.path()).unwrap_err();
        assert!(e.to_string().contains("no index.json"), "{e}");
        write(tmp.path(), "index.json", r#"{"name":"x"}"#);
        let e = Bundle::open(tmp.path()).unwrap_err();
        assert!(
            e.to_string()
                .contains("index.json: not a usable replay bundle: not a harun snapshot index"),
            "{e}"
        );
        write(
            tmp.path(),
            "index.json",
            r#"{"format":"harun-snapshot","version":2,"targets":["t"],"files":[{"file":"show_info.txt","target":"t","command":"show info","ok":true}]}"#,
        );
        let e = Bundle::open(tmp.path()).unwrap_err();
        assert!(e.to_string().contains("none of the 1 file(s)"), "{e}");
        assert_eq!(e.exit_code(), crate::base::error::ExitCode::Usage);
    }

    #[test]
    fn partial_bundles_open_and_list_what_is_wrong() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "index.json",
            r#"{"format":"harun-snapshot","version":2,"taken":"2026-11-30T12:45:01Z","targets":["t"],
            "config_paths":["/etc/haproxy/haproxy.cfg"],
            "files":[
              {"file":"show_info.txt","target":"t","command":"show info","ok":true,"at":"2026-11-30T12:45:01.100Z"},
              {"file":"show_activity.txt","target":"t","command":"show activity","ok":false},
              {"file":"show_errors.txt","target":"t","command":"show errors","ok":true},
              {"file":"haproxy_vv.txt","command":"haproxy -vv","ok":true},
              {"file":"config/etc/haproxy/haproxy.cfg","command":"config file","source":"/etc/haproxy/haproxy.cfg","ok":true},
              {"file":"findings.json","ok":true}]}"#,
        );
        write(
            tmp.path(),
            "show_info.txt",
            "Name: HAProxy\nVersion: 2.6.12\n",
        );
        write(
            tmp.path(),
            "show_activity.txt",
            "error (unknown_command): t: unknown command `show activity`\n",
        );
        write(tmp.path(), "haproxy_vv.txt", "HAProxy version 2.6.12\n");
        write(tmp.path(), "config/etc/haproxy/haproxy.cfg", "global\n");
        let b = Bundle::open(tmp.path()).unwrap();
        assert_eq!(b.targets().len(), 1);
        assert_eq!(b.taken(), Some("2026-11-30T12:45:01Z"));
        assert_eq!(b.problems().len(), 2, "{:?}", b.problems());
        assert!(b.problems()[0].contains("show_activity.txt: `show activity` failed"));
        assert!(b.problems()[1].contains("show_errors.txt: listed in index.json"));
        assert_eq!(
            b.recorded("haproxy -vv").unwrap(),
            "HAProxy version 2.6.12\n"
        );
        assert_eq!(b.recorded("host").unwrap_err().kind(), "not_recorded");
        assert_eq!(
            b.config_files(),
            [(
                PathBuf::from("/etc/haproxy/haproxy.cfg"),
                tmp.path().join("config/etc/haproxy/haproxy.cfg")
            )]
        );
        let info = b.targets()[0]
            .answer(&crate::runtime::Command::show_info())
            .unwrap();
        assert!(info.contains("Version: 2.6.12"));
        assert!(b.targets()[0].last_at().is_some());
    }

    #[test]
    fn hostile_bundle_files_never_panic() {
        let files = [
            ("show_stat.txt", "show stat"),
            ("show_stat.2.txt", "show stat"),
            ("show_servers_state.txt", "show servers state"),
            ("show_info.txt", "show info"),
            ("show_backend.txt", "show backend"),
        ];
        let mut binary: Vec<u8> = (0..=255u8).cycle().take(8192).collect();
        binary.extend_from_slice(b"\n# be_id\n\xff,\"");
        let contents: [(&str, Vec<u8>); 5] = [
            ("empty", Vec::new()),
            ("binary", binary),
            ("a 1 MB line", "1 bk,".repeat(200 * 1024).into_bytes()),
            (
                "header only",
                b"# pxname,svname,status,iid,sid,type,\n".to_vec(),
            ),
            ("error text", b"error (brand_new): \xff\n".to_vec()),
        ];
        let commands = [
            "show stat",
            "show stat up",
            "show stat bk 4 -1",
            "show backend",
            "show servers state",
            "show servers state bk",
            "show info",
        ];
        for (what, bytes) in &contents {
            let tmp = tempfile::tempdir().unwrap();
            let mut list = Vec::new();
            for (file, command) in files {
                std::fs::write(tmp.path().join(file), bytes).unwrap();
                list.push(format!(
                    r#"{{"file":"{file}","target":"t","command":"{command}","at":"2026-11-30T12:45:01Z"}}"#
                ));
            }
            std::fs::write(tmp.path().join("host.json"), bytes).unwrap();
            list.push(r#"{"file":"host.json","command":"host","ok":true}"#.into());
            write(
                tmp.path(),
                "index.json",
                &format!(
                    r#"{{"format":"harun-snapshot","version":2,"targets":["t"],"files":[{}]}}"#,
                    list.join(",")
                ),
            );
            let b = Bundle::open(tmp.path()).unwrap();
            assert!(
                b.recorded("host").is_ok() || *what == "error text",
                "{what}"
            );
            let store = &b.targets()[0];
            for c in commands {
                let answer = store.answer(&crate::runtime::Command::raw(c).unwrap());
                if let Err(e) = answer {
                    // Each refusal names what it is about.
                    let m = e.to_string();
                    assert!(
                        m.contains(".txt") || m.contains(c) || m.contains("No such"),
                        "{what}, {c}: {m}"
                    );
                }
            }
            // Samples whose times are equal give no interval, said so.
            store.note_sleep();
            assert_eq!(store.stat_seconds(), 0.0, "{what}");
            assert!(
                store.why_no_interval().contains("do not move forward")
                    || store.why_no_interval().contains("were used"),
                "{what}: {}",
                store.why_no_interval()
            );
        }
    }
}
