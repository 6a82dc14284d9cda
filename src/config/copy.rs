//! A configuration that runs from a copy of the user's files (a lab's
//! rewritten configuration, which keeps every line number): `haproxy -c` runs
//! on the copy, and what it says is named back to the user's `file:line`,
//! since the copy is a temporary file nobody can open after the run.

use super::check::CheckResult;
use std::path::{Path, PathBuf};

/// The files `haproxy -f` reads instead of the user's, and which user's file
/// each was written from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigCopy {
    /// What `haproxy -c` runs, in `-f` order (files the copier adds included).
    pub run: Vec<PathBuf>,
    /// `(copy, original)`: same lines at the same numbers.
    pub originals: Vec<(PathBuf, PathBuf)>,
}

impl ConfigCopy {
    /// The user's file a copy was written from.
    pub fn original_of(&self, copy: &Path) -> Option<&Path> {
        self.originals
            .iter()
            .find(|(c, _)| c == copy)
            .map(|(_, o)| o.as_path())
    }

    /// `text` with every copy's path written as its original's.
    pub fn rename(&self, text: &str) -> String {
        let mut pairs: Vec<(String, String)> = self
            .originals
            .iter()
            .map(|(c, o)| (c.display().to_string(), o.display().to_string()))
            .collect();
        // `cfg/a.cfg` before `cfg/a.cfg.d`-like names it is a prefix of.
        pairs.sort_by_key(|(c, _)| std::cmp::Reverse(c.len()));
        let mut out = text.to_string();
        for (c, o) in pairs {
            if !c.is_empty() {
                out = out.replace(&c, &o);
            }
        }
        out
    }

    /// A `haproxy -c` run on the copy, as it reads about the user's files.
    pub fn name_originals(&self, mut result: CheckResult) -> CheckResult {
        for m in &mut result.messages {
            if let Some(f) = &m.file {
                m.file = Some(match self.original_of(Path::new(f)) {
                    Some(o) => o.display().to_string(),
                    None => self.rename(f),
                });
            }
            m.text = self.rename(&m.text);
        }
        for line in &mut result.other {
            *line = self.rename(line);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::check::parse_check_output;

    #[test]
    fn check_messages_name_the_users_files() {
        let copy = ConfigCopy {
            run: vec![
                PathBuf::from("/tmp/lab/cfg/harun-lab-prelude.cfg"),
                PathBuf::from("/tmp/lab/cfg/haproxy.cfg"),
                PathBuf::from("/tmp/lab/cfg/1-haproxy.cfg"),
            ],
            originals: vec![
                (
                    PathBuf::from("/tmp/lab/cfg/haproxy.cfg"),
                    PathBuf::from("/etc/haproxy/haproxy.cfg"),
                ),
                (
                    PathBuf::from("/tmp/lab/cfg/1-haproxy.cfg"),
                    PathBuf::from("/etc/haproxy/conf.d/haproxy.cfg"),
                ),
            ],
        };
        let out = "[WARNING]  (1) : config : parsing [/tmp/lab/cfg/haproxy.cfg:72] : 'option httplog' not usable with proxy 'x' (needs 'mode http').\n\
[WARNING]  (1) : config : [/tmp/lab/cfg/1-haproxy.cfg:3] : 'server b/s' : also declared in /tmp/lab/cfg/haproxy.cfg:9.\n\
[ALERT]    (1) : config : parsing [/tmp/lab/cfg/harun-lab-prelude.cfg:2] : the lab's own file keeps its name.\n";
        let r = copy.name_originals(parse_check_output(out, 0));
        let locs: Vec<_> = r.messages.iter().filter_map(|m| m.location()).collect();
        assert_eq!(
            locs,
            [
                "/etc/haproxy/haproxy.cfg:72",
                "/etc/haproxy/conf.d/haproxy.cfg:3",
                "/tmp/lab/cfg/harun-lab-prelude.cfg:2"
            ]
        );
        assert!(
            r.messages[1]
                .text
                .ends_with("also declared in /etc/haproxy/haproxy.cfg:9."),
            "{}",
            r.messages[1].text
        );
        assert!(!format!("{r:?}").contains("/tmp/lab/cfg/haproxy.cfg"));
        assert!(!format!("{r:?}").contains("/tmp/lab/cfg/1-haproxy.cfg"));
    }
}
