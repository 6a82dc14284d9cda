//! How an inventory host is logged in to, beyond user, host and port: its
//! private key and its ssh arguments, read as Ansible's ssh connection
//! reads them; and the connection variables harun does not honour, so that
//! none is dropped in silence. Pure: the caller gives the inventory's
//! directory and the home directory.

use super::inventory::Vars;
use super::words::split;
use crate::runtime::ssh::Options;
use std::path::{Path, PathBuf};

/// The variables that name the private key, in the order they are read
/// (the ssh-specific name first, as for `ansible_ssh_host`).
const KEY_VARS: [&str; 2] = ["ansible_ssh_private_key_file", "ansible_private_key_file"];

/// The variables of the connect timeout, in the order Ansible reads them
/// (its `timeout` connection option: `ansible_ssh_timeout`, then
/// `ansible_timeout`).
const TIMEOUT_VARS: [&str; 2] = ["ansible_ssh_timeout", "ansible_timeout"];

/// The longest connect timeout taken from an inventory, in seconds.
const MAX_CONNECT_TIMEOUT: u32 = 3600;

/// The variables of ssh arguments, in the order Ansible puts them on the
/// command line.
const ARG_VARS: [&str; 2] = ["ansible_ssh_common_args", "ansible_ssh_extra_args"];

/// `-o` keys harun sets itself, or that would undo what it needs (its
/// master, the forwarded socket, no prompt): given by an inventory they
/// would be ignored (ssh keeps the first value) or break the login.
const MANAGED: [(&str, &str); 16] = [
    ("batchmode", "harun never prompts (BatchMode=yes)"),
    ("controlmaster", "harun runs its own master per host"),
    ("controlpath", "harun runs its own master per host"),
    ("controlpersist", "harun runs its own master per host"),
    (
        "connecttimeout",
        "--timeout bounds the connection; set this host's with ansible_timeout",
    ),
    (
        "exitonforwardfailure",
        "harun forwards the admin socket itself",
    ),
    (
        "streamlocalbindunlink",
        "harun forwards the admin socket itself",
    ),
    (
        "clearallforwardings",
        "harun forwards the admin socket itself",
    ),
    ("localforward", "harun forwards the admin socket itself"),
    ("remoteforward", "harun forwards the admin socket itself"),
    ("dynamicforward", "harun forwards the admin socket itself"),
    ("remotecommand", "harun decides what runs on the host"),
    ("requesttty", "harun decides what runs on the host"),
    ("sessiontype", "harun decides what runs on the host"),
    ("stdinnull", "harun decides what runs on the host"),
    (
        "forkafterauthentication",
        "harun decides what runs on the host",
    ),
];

/// A host's ssh options from its variables: the private key (`-i`), the
/// connect timeout (`ansible_ssh_timeout` or `ansible_timeout`, whole
/// seconds: ssh's `ConnectTimeout`, as Ansible passes it) and
/// `ansible_ssh_common_args` / `ansible_ssh_extra_args`, of which only
/// `-o KEY=VALUE` (or `-o 'KEY VALUE'`), `-J HOST` and `-F FILE` are taken.
/// Paths: `~` is `home`, a relative path is relative to `base` (the
/// inventory's directory). The error names the variable and the word.
pub fn ssh_options(vars: &Vars, base: &Path, home: Option<&Path>) -> Result<Options, String> {
    let mut out = Options::default();
    if let Some((var, key)) = first_set(vars, &KEY_VARS) {
        out.identity = Some(local_path(key, base, home).map_err(|e| format!("{var}: {e}"))?);
    }
    if let Some((var, secs)) = first_set(vars, &TIMEOUT_VARS) {
        out.connect_timeout = Some(connect_timeout(secs).map_err(|e| format!("{var}: {e}"))?);
    }
    for var in ARG_VARS {
        if let Some(text) = vars.get(var).filter(|t| !t.trim().is_empty()) {
            ssh_args(text, base, home, &mut out).map_err(|e| format!("{var}: {e}"))?;
        }
    }
    Ok(out)
}

/// A connect timeout as Ansible takes it (an integer number of seconds),
/// from 1 (0 would be no timeout at all for ssh) to [`MAX_CONNECT_TIMEOUT`].
fn connect_timeout(value: &str) -> Result<u32, String> {
    value
        .parse::<u32>()
        .ok()
        .filter(|s| (1..=MAX_CONNECT_TIMEOUT).contains(s))
        .ok_or_else(|| {
            format!(
                "`{value}` is not a connect timeout: expected whole seconds from 1 to {MAX_CONNECT_TIMEOUT} (ssh's ConnectTimeout)"
            )
        })
}

fn first_set<'a>(vars: &'a Vars, names: &[&'static str]) -> Option<(&'static str, &'a str)> {
    names.iter().find_map(|n| {
        vars.get(*n)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(|v| (*n, v))
    })
}

/// A path on this machine as Ansible's ssh connection takes it.
fn local_path(p: &str, base: &Path, home: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(rest) = p.strip_prefix('~') {
        let rest = match rest {
            "" => "",
            r if r.starts_with('/') => r.trim_start_matches('/'),
            _ => {
                return Err(format!(
                    "`{p}`: only `~` (your home) is expanded, not `~user`: write the full path"
                ))
            }
        };
        let home = home.ok_or_else(|| format!("`{p}`: no home directory to expand `~` with"))?;
        return Ok(home.join(rest));
    }
    Ok(base.join(p))
}

/// The words of one arguments variable into `out`.
fn ssh_args(text: &str, base: &Path, home: Option<&Path>, out: &mut Options) -> Result<(), String> {
    let words = split(text, false)?;
    let mut words = words.iter();
    while let Some(w) = words.next() {
        // `-o X` and `-oX` are the same option for ssh.
        let (flag, glued) = match w.get(..2) {
            Some(f @ ("-o" | "-J" | "-F")) => (f, &w[2..]),
            _ => return Err(refused(w)),
        };
        let value = if glued.is_empty() {
            words
                .next()
                .ok_or_else(|| format!("`{flag}` needs a value after it"))?
                .as_str()
        } else {
            glued
        };
        match flag {
            "-o" => {
                option(value)?;
                out.args.extend(["-o".to_string(), value.to_string()]);
            }
            "-J" => {
                // One argument word: a leading `-` could only be a typo,
                // and ssh reads blanks in it as separate hosts of nothing.
                if value.starts_with('-') || value.chars().any(char::is_whitespace) {
                    return Err(format!(
                        "`-J {value}`: expected a jump host, `[user@]host[:port]` (several separated by `,`)"
                    ));
                }
                out.args.extend(["-J".to_string(), value.to_string()]);
            }
            _ => out.config = Some(local_path(value, base, home)?),
        }
    }
    Ok(())
}

fn refused(word: &str) -> String {
    format!(
        "`{word}` is not an option harun passes to ssh: only `-o KEY=VALUE`, `-J HOST` and `-F FILE` are taken (set other options in the ssh configuration, or with -o)"
    )
}

/// One `-o` value: `Key=Value` or `Key Value`, a key that harun does not set.
fn option(value: &str) -> Result<(), String> {
    let key_end = value
        .find(|c: char| c == '=' || c.is_whitespace())
        .unwrap_or(value.len());
    let (key, rest) = value.split_at(key_end);
    let rest = rest.trim_start().strip_prefix('=').unwrap_or(rest).trim();
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) || rest.is_empty() {
        return Err(format!(
            "`-o {value}`: expected `-o KEY=VALUE` or `-o 'KEY VALUE'`"
        ));
    }
    let lower = key.to_ascii_lowercase();
    if let Some((_, why)) = MANAGED.iter().find(|(k, _)| *k == lower) {
        return Err(format!("`-o {value}`: harun sets {key} itself ({why})"));
    }
    Ok(())
}

/// Connection variables Ansible honours and harun does not, as (variable,
/// why): reported for the hosts that set them, never dropped in silence.
/// Not errors: the inventory is usually Ansible's own, and these do not
/// stop harun from reaching a host whose key and user work.
const UNHONOURED: [(&str, &str); 5] = [
    (
        "ansible_password",
        "harun logs in with keys only (ssh BatchMode): it never sends a password",
    ),
    (
        "ansible_become",
        "harun does not switch user on the host: the SSH user itself must be able to open the admin socket and read the configuration",
    ),
    (
        "ansible_host_key_checking",
        "harun keeps ssh's host-key checking on: add the host's key to known_hosts",
    ),
    (
        "ansible_ssh_executable",
        "harun runs `ssh` from PATH",
    ),
    (
        "ansible_ssh_args",
        "harun runs its own ssh master: put this host's options in ansible_ssh_common_args",
    ),
];

/// The [`UNHONOURED`] variables this host sets, by their first name
/// (`ansible_ssh_pass` is `ansible_password`).
pub fn unhonoured(vars: &Vars) -> Vec<&'static str> {
    let set = |k: &str| vars.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let truthy = |k: &str| {
        set(k).is_some_and(|v| {
            matches!(
                v.to_ascii_lowercase().as_str(),
                "yes" | "true" | "on" | "1" | "y"
            )
        })
    };
    let falsy = |k: &str| {
        set(k).is_some_and(|v| {
            matches!(
                v.to_ascii_lowercase().as_str(),
                "no" | "false" | "off" | "0" | "n"
            )
        })
    };
    let mut out = Vec::new();
    if [
        "ansible_password",
        "ansible_ssh_pass",
        "ansible_ssh_password",
    ]
    .iter()
    .any(|k| set(k).is_some())
    {
        out.push("ansible_password");
    }
    // The user and method matter only when becoming another user is on.
    if ["ansible_become", "ansible_sudo", "ansible_su"]
        .iter()
        .any(|k| truthy(k))
    {
        out.push("ansible_become");
    }
    if ["ansible_host_key_checking", "ansible_ssh_host_key_checking"]
        .iter()
        .any(|k| falsy(k))
    {
        out.push("ansible_host_key_checking");
    }
    if set("ansible_ssh_executable").is_some_and(|v| v != "ssh") {
        out.push("ansible_ssh_executable");
    }
    if set("ansible_ssh_args").is_some() {
        out.push("ansible_ssh_args");
    }
    out
}

/// One line per unhonoured variable, naming the hosts that set it (the
/// first few of many) and what harun does instead.
pub fn unhonoured_notes<'a>(
    hosts: impl IntoIterator<Item = (&'a str, &'a [&'static str])>,
) -> Vec<String> {
    let hosts: Vec<(&str, &[&str])> = hosts.into_iter().collect();
    UNHONOURED
        .iter()
        .filter_map(|(var, why)| {
            let by: Vec<&str> = hosts
                .iter()
                .filter(|(_, vars)| vars.contains(var))
                .map(|(h, _)| *h)
                .collect();
            if by.is_empty() {
                return None;
            }
            const SHOWN: usize = 3;
            let mut who = by
                .iter()
                .take(SHOWN)
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            if by.len() > SHOWN {
                who.push_str(&format!(" and {} more", by.len() - SHOWN));
            }
            let s = if by.len() == 1 { "" } else { "s" };
            Some(format!("{var} (host{s} {who}) is not used: {why}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn opts(pairs: &[(&str, &str)]) -> Result<Options, String> {
        ssh_options(
            &vars(pairs),
            Path::new("/etc/ansible"),
            Some(Path::new("/home/ops")),
        )
    }

    #[test]
    fn the_key_file_is_a_path_here() {
        let key = |v: &str| {
            opts(&[("ansible_ssh_private_key_file", v)])
                .unwrap()
                .identity
                .unwrap()
        };
        assert_eq!(key("~/.ssh/lb"), PathBuf::from("/home/ops/.ssh/lb"));
        assert_eq!(key("~"), PathBuf::from("/home/ops"));
        assert_eq!(key("/keys/lb"), PathBuf::from("/keys/lb"));
        assert_eq!(key("keys/lb"), PathBuf::from("/etc/ansible/keys/lb"));
        let other = opts(&[("ansible_private_key_file", "k")]).unwrap();
        assert_eq!(other.identity, Some(PathBuf::from("/etc/ansible/k")));
        let e = opts(&[("ansible_ssh_private_key_file", "~ops/k")]).unwrap_err();
        assert!(
            e.starts_with("ansible_ssh_private_key_file: `~ops/k`"),
            "{e}"
        );
        let e = ssh_options(
            &vars(&[("ansible_ssh_private_key_file", "~/k")]),
            Path::new("/x"),
            None,
        )
        .unwrap_err();
        assert!(e.contains("no home directory"), "{e}");
        assert_eq!(opts(&[]).unwrap(), Options::default());
    }

    #[test]
    fn arguments_take_options_jump_hosts_and_a_config() {
        let o = opts(&[
            (
                "ansible_ssh_common_args",
                r#"-o ProxyCommand="ssh -W %h:%p bastion" -oStrictHostKeyChecking=yes -J ops@jump:2222"#,
            ),
            (
                "ansible_ssh_extra_args",
                "-o 'ServerAliveInterval 5' -F ~/.ssh/lb.conf",
            ),
        ])
        .unwrap();
        assert_eq!(
            o.args,
            [
                "-o",
                "ProxyCommand=ssh -W %h:%p bastion",
                "-o",
                "StrictHostKeyChecking=yes",
                "-J",
                "ops@jump:2222",
                "-o",
                "ServerAliveInterval 5",
            ]
        );
        assert_eq!(o.config, Some(PathBuf::from("/home/ops/.ssh/lb.conf")));
        let o = opts(&[("ansible_ssh_common_args", "-F lb.conf -Jjump")]).unwrap();
        assert_eq!(o.config, Some(PathBuf::from("/etc/ansible/lb.conf")));
        assert_eq!(o.args, ["-J", "jump"]);
    }

    #[test]
    fn anything_else_is_refused_naming_the_variable_and_the_word() {
        for (args, var, word) in [
            ("-C", "ansible_ssh_common_args", "`-C`"),
            ("-o A=1 -i key", "ansible_ssh_common_args", "`-i`"),
            ("-o", "ansible_ssh_common_args", "`-o` needs a value"),
            ("-o NoValue", "ansible_ssh_common_args", "`-o NoValue`"),
            ("-o =x", "ansible_ssh_common_args", "`-o =x`"),
            (
                "-o ControlPath=/tmp/x",
                "ansible_ssh_common_args",
                "harun sets ControlPath itself",
            ),
            (
                "-o batchmode=no",
                "ansible_ssh_common_args",
                "harun sets batchmode itself",
            ),
            (
                "-J -oProxyCommand=x",
                "ansible_ssh_common_args",
                "`-J -oProxyCommand=x`",
            ),
            ("-o 'A=1", "ansible_ssh_common_args", "no closing quotation"),
            ("host", "ansible_ssh_common_args", "`host`"),
        ] {
            let e = opts(&[(var, args)]).unwrap_err();
            assert!(e.starts_with(&format!("{var}: ")), "{args}: {e}");
            assert!(e.contains(word), "{args}: {e}");
        }
        let e = opts(&[("ansible_ssh_extra_args", "-t")]).unwrap_err();
        assert!(e.starts_with("ansible_ssh_extra_args: `-t`"), "{e}");
    }

    #[test]
    fn connection_variables_harun_does_not_honour_are_named() {
        let got = unhonoured(&vars(&[
            ("ansible_ssh_pass", "secret"),
            ("ansible_become", "yes"),
            ("ansible_become_user", "root"),
            ("ansible_host_key_checking", "False"),
            ("ansible_ssh_executable", "/opt/ssh"),
            ("ansible_ssh_args", "-C"),
        ]));
        assert_eq!(
            got,
            [
                "ansible_password",
                "ansible_become",
                "ansible_host_key_checking",
                "ansible_ssh_executable",
                "ansible_ssh_args"
            ]
        );
        // Off, or only what would matter once on: nothing to say.
        let quiet = unhonoured(&vars(&[
            ("ansible_become", "false"),
            ("ansible_become_user", "root"),
            ("ansible_host_key_checking", "true"),
            ("ansible_ssh_executable", "ssh"),
            ("ansible_python_interpreter", "/usr/bin/python3"),
        ]));
        assert!(quiet.is_empty(), "{quiet:?}");
        let become_only: &[&str] = &["ansible_become"];
        let hosts = ["lb1", "lb2", "lb3", "lb4", "lb5"].map(|h| (h, become_only));
        let notes = unhonoured_notes(hosts.iter().map(|(h, v)| (*h, *v)));
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].starts_with("ansible_become (hosts lb1, lb2, lb3 and 2 more) is not used: harun does not switch user"),
            "{notes:?}"
        );
        let password: &[&str] = &["ansible_password"];
        let notes = unhonoured_notes([("lb9", password)]);
        assert!(
            notes[0].starts_with("ansible_password (host lb9) is not used: "),
            "{notes:?}"
        );
    }
}
