//! haproxy.cfg model, `haproxy -c` and lint rules.

pub mod check;
pub mod copy;
pub mod headers;
pub mod lint;
pub mod model;
pub mod source;

pub use check::{parse_check_output, run_check, CheckError, CheckMessage, CheckResult};
pub use copy::ConfigCopy;
pub use lint::{lint, rule_docs, LintContext, RuleDoc};
pub use model::{
    chroot, load_config, log_lines, parse_config, stats_sockets, ConfigError, ConfigModel,
    Directive, ParseNote, Section, StatsSocket,
};
