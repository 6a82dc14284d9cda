//! Inventories for the fleet tests: lab HAProxies as Ansible hosts.

use super::{harun, Harun};
use harun::lab::{Lab, Scenario};
use std::path::{Path, PathBuf};

/// Write `text` as the inventory file `name` in `dir`; its path.
pub fn write_inventory(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    p
}

/// One INI host line per socket, `lbN VARS harun_socket=SOCKET` with N
/// from 1 (`vars` such as `ansible_connection=local`, or empty).
pub fn inventory_hosts(sockets: &[&Path], vars: &str) -> String {
    sockets
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let vars = if vars.is_empty() {
                String::new()
            } else {
                format!("{vars} ")
            };
            format!("lb{} {vars}harun_socket={}\n", i + 1, s.display())
        })
        .collect()
}

/// Three labs (healthy, incident, healthy) as the local hosts `lb1..lb3`
/// of an INI inventory: group `lb` (with a group socket that every host
/// overrides) under `eu`, plus a remote host that nothing here selects.
pub struct LabFleet {
    pub labs: [Lab; 3],
    pub dir: tempfile::TempDir,
    pub inventory: PathBuf,
}

impl LabFleet {
    /// The fleet, or None (skip) when haproxy is missing outside CI.
    pub fn start() -> Option<LabFleet> {
        let labs = [
            super::lab(Scenario::Healthy)?,
            super::lab(Scenario::Incident)?,
            super::lab(Scenario::Healthy)?,
        ];
        let dir = tempfile::tempdir().unwrap();
        let sockets: Vec<&Path> = labs.iter().map(Lab::admin_socket).collect();
        let text = format!(
            "[lb]\n{}\n[lb:vars]\nansible_connection=local\nharun_socket=/nonexistent/group.sock\n\n[eu:children]\nlb\n\n[remote]\nfar1 ansible_host=192.0.2.10\n",
            inventory_hosts(&sockets, "")
        );
        let inventory = write_inventory(dir.path(), "hosts.ini", &text);
        Some(LabFleet {
            labs,
            dir,
            inventory,
        })
    }

    /// harun with this inventory (`-i`).
    pub fn harun(&self) -> Harun {
        harun().inventory(&self.inventory)
    }

    /// A journal in the fleet's directory, for the rolling changes.
    pub fn journal(&self) -> PathBuf {
        self.dir.path().join("journal.jsonl")
    }
}
