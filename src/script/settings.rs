//! The immutable settings of a run, built once from CLI flags or by an embedder.

use crate::runtime::Address;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Bounds a playbook cannot exceed. The same in debug and release builds.
/// Rhai's size limits bound one value (nested values count towards their
/// container); `max_heap_bytes` bounds the sum of everything, checked
/// between operations when [`crate::base::mem::CountingAlloc`] is the global
/// allocator (it is in the `harun` binary). The defaults keep the binary
/// under 256 MiB whatever the playbook does (figures in docs/reliability.md),
/// with room for `servers()` of 20,000 servers (about 130 MiB of maps).
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    pub max_operations: u64,
    pub max_call_levels: usize,
    pub max_expr_depth: usize,
    pub max_function_expr_depth: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
    pub max_modules: usize,
    /// Heap in use past which the playbook is stopped.
    pub max_heap_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 200_000_000,
            max_call_levels: 48,
            max_expr_depth: 96,
            max_function_expr_depth: 48,
            // The default reply cap: any reply fits in one string.
            max_string_size: 64 * 1024 * 1024,
            max_array_size: 2_000_000,
            max_map_size: 4_000_000,
            max_modules: 64,
            max_heap_bytes: 160 * 1024 * 1024,
        }
    }
}

/// Everything a run needs to know; cheap to clone.
#[derive(Clone, Debug)]
pub struct Settings {
    pub sockets: Vec<Address>,
    /// Targets from an inventory (`-i`), each named by its host. Talked to
    /// with `sockets`; a socket in both is talked to once, by its host name.
    pub fleet: Vec<crate::fleet::Member>,
    /// haproxy.cfg files or directories (as `haproxy -f` takes them).
    pub config_paths: Vec<PathBuf>,
    /// `config_paths` is only the default (no -c, no HARUN_CONFIG): a run
    /// whose one target is a local socket reads the configuration of the
    /// process behind it instead (see `Ctx::config_paths`).
    pub config_from_process: bool,
    /// `haproxy -c` on `config_paths` runs on this copy instead, its
    /// messages named back to `config_paths`' files: a configuration lab's
    /// rewritten files ([`crate::lab::Lab::config_copy`]), which this host
    /// can run where the user's files name certificates and addresses it
    /// does not have. The model and lint read `config_paths` themselves.
    pub config_copy: Option<crate::config::ConfigCopy>,
    pub haproxy_bin: PathBuf,
    /// Bound on each exchange with a runtime API socket: connect, write and
    /// the complete reply.
    pub io_timeout: Duration,
    /// Largest reply accepted from a socket, in bytes.
    pub max_reply_bytes: usize,
    /// Bound on a whole run (`--max-time`).
    pub max_time: Option<Duration>,
    pub params: BTreeMap<String, String>,
    /// Refuse a `params` key the playbook neither declares nor reads (a typo),
    /// for parameters a user typed; off for embedders who pass the same
    /// parameters to several playbooks.
    pub strict_params: bool,
    pub dry_run: bool,
    pub read_only: bool,
    /// Skip the confirmation before the first write.
    pub yes: bool,
    /// Allow draining or disabling the last UP server of a backend.
    pub force: bool,
    pub journal_path: PathBuf,
    pub rsyslog_conf: PathBuf,
    pub rsyslog_dir: PathBuf,
    pub proc_root: PathBuf,
    pub sys_root: PathBuf,
    /// Where `snapshot` and other bundles are written.
    pub output_dir: PathBuf,
    pub limits: Limits,
    /// Sockets talked to at once during fan-out (`--forks`).
    pub max_parallel: usize,
    /// Rolling changes (`--serial`): writes go to the hosts group by group,
    /// stopping at the first group where one fails. `None`: every target
    /// at once. Reads are never serialized.
    pub serial: Option<crate::fleet::Serial>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            sockets: Vec::new(),
            fleet: Vec::new(),
            config_paths: vec![PathBuf::from("/etc/haproxy/haproxy.cfg")],
            config_from_process: false,
            config_copy: None,
            haproxy_bin: PathBuf::from("haproxy"),
            io_timeout: Duration::from_secs(5),
            max_reply_bytes: crate::runtime::session::DEFAULT_MAX_REPLY_BYTES,
            max_time: None,
            params: BTreeMap::new(),
            strict_params: false,
            dry_run: false,
            read_only: false,
            yes: false,
            force: false,
            journal_path: crate::actions::journal::Journal::default_path(),
            rsyslog_conf: PathBuf::from("/etc/rsyslog.conf"),
            rsyslog_dir: PathBuf::from("/etc/rsyslog.d"),
            proc_root: PathBuf::from("/proc"),
            sys_root: PathBuf::from("/sys"),
            output_dir: PathBuf::from("."),
            limits: Limits::default(),
            // Ansible's `forks` is 5; a bastion talking to load balancers
            // can do more at once.
            max_parallel: 20,
            serial: None,
        }
    }
}

impl Settings {
    /// Every target of the run with its host name when it has one: the
    /// inventory's hosts, then the sockets no host already names.
    pub fn targets(&self) -> Vec<(Option<String>, Address)> {
        let mut out: Vec<(Option<String>, Address)> = self
            .fleet
            .iter()
            .map(|m| (Some(m.name.clone()), m.address.clone()))
            .collect();
        for a in &self.sockets {
            if !out.iter().any(|(_, b)| b == a) {
                out.push((None, a.clone()));
            }
        }
        out
    }
}

pub use crate::base::program::resolve_program;
