//! Fleets: the load balancers of an Ansible inventory as harun's targets,
//! and many hosts' reports as one.
//!
//! `inventory` is the model (groups, hosts, variables with Ansible's
//! precedence), read from its two formats by `ini` and `yaml` (`read`
//! picks one by the file's name); `pattern`
//! selects hosts as `--limit` does; `member` turns a host into the address
//! of its admin socket; `merge` combines `--json` reports by finding;
//! `serial` sizes the groups of a rolling change (`--serial`);
//! `disagree` compares what the targets say about the same servers.
//!
//! May import: `base`, `runtime` (addresses, the parsed `show servers state`).

pub mod connect;
pub mod disagree;
mod ini;
pub mod inventory;
pub mod member;
pub mod merge;
pub mod pattern;
pub mod read;
pub mod serial;
mod words;
mod yaml;

pub use inventory::Inventory;
pub use member::{Connection, Member};
pub use serial::Serial;

use crate::base::error::{Error, Result};
use std::path::Path;

/// The targets of the inventory at `path`, all its hosts or those `limit`
/// selects (an Ansible host pattern), in inventory order.
pub fn targets(path: &Path, limit: Option<&str>) -> Result<Vec<Member>> {
    let inv = read::load(path)?;
    let names = match limit {
        Some(p) => pattern::select(&inv, p)?,
        None => inv.hosts().iter().map(|h| h.name.clone()).collect(),
    };
    if names.is_empty() {
        return Err(Error::Inventory {
            path: path.to_path_buf(),
            line: None,
            message: "the inventory has no host".into(),
        });
    }
    member::resolve(&inv, &names, path, dirs::home_dir().as_deref())
}
