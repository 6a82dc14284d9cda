//! Rolling changes (`--serial`): the hosts cut into groups, and the group
//! being written. While a group is written, the write path (guard, writes,
//! drain polls) sees only its targets ([`Ctx::scoped_client`]); reads by
//! the playbook's own primitives still see every target. The walk from
//! group to group, and where it stops, is in `script/rolling.rs`.

use super::{lock, Ctx};
use crate::fleet::Serial;
use crate::runtime::{Client, Target};
use std::sync::Arc;

/// The groups of a rolling change, in inventory order.
#[derive(Clone)]
pub struct Plan {
    pub serial: Serial,
    pub groups: Vec<Group>,
}

/// One group: its hosts (inventory names, or socket addresses) and their
/// targets (a master CLI's workers are one host).
#[derive(Clone)]
pub struct Group {
    pub hosts: Vec<String>,
    pub targets: Vec<Arc<Target>>,
}

impl Group {
    /// The host a target (named as in rows, journal lines and write
    /// outcomes, or as in an error: `lb1 (/run/haproxy/admin.sock)`) is on.
    pub fn host_of(&self, target: &str) -> Option<String> {
        self.targets
            .iter()
            .find(|t| {
                let name = t.name();
                target == name
                    || target
                        .strip_prefix(name.as_str())
                        .is_some_and(|rest| rest.starts_with(" ("))
            })
            .map(|t| t.host_key())
    }
}

/// The group being written now.
pub(super) struct Scope {
    client: Client,
    index: usize,
    plan: Arc<Plan>,
}

/// Leaves the group when dropped: the write path sees every target again.
pub struct GroupGuard<'a> {
    ctx: &'a Ctx,
}

impl Drop for GroupGuard<'_> {
    fn drop(&mut self) {
        *lock(&self.ctx.scope) = None;
        if let Some(Ok(j)) = self.ctx.journal.get() {
            j.set_group(None);
        }
    }
}

impl Ctx {
    /// Every target's host cut into groups by `serial`, in target order
    /// (the inventory's, then `-s`).
    pub fn rolling_plan(&self, serial: &Serial) -> Plan {
        let mut hosts: Vec<(String, Vec<Arc<Target>>)> = Vec::new();
        for t in self.client.targets() {
            let key = t.host_key();
            match hosts.iter_mut().find(|(h, _)| *h == key) {
                Some((_, ts)) => ts.push(Arc::clone(t)),
                None => hosts.push((key, vec![Arc::clone(t)])),
            }
        }
        let groups = serial
            .groups(&hosts)
            .into_iter()
            .map(|g| Group {
                hosts: g.iter().map(|(h, _)| h.clone()).collect(),
                targets: g.into_iter().flat_map(|(_, ts)| ts).collect(),
            })
            .collect();
        Plan {
            serial: serial.clone(),
            groups,
        }
    }

    /// Write to group `index` of `plan` only, until the guard is dropped.
    pub fn enter_group(&self, plan: &Arc<Plan>, index: usize) -> GroupGuard<'_> {
        let client = self.client.subset(&plan.groups[index].targets);
        *lock(&self.scope) = Some(Scope {
            client,
            index,
            plan: Arc::clone(plan),
        });
        if let Ok(j) = self.journal() {
            j.set_group(Some(format!(
                "{}/{} of --serial {}",
                index + 1,
                plan.groups.len(),
                plan.serial
            )));
        }
        GroupGuard { ctx: self }
    }

    /// Whether a group of a rolling change is being written.
    pub fn in_group(&self) -> bool {
        lock(&self.scope).is_some()
    }

    /// The targets the write path acts on: the group being written, or
    /// every target.
    pub fn scoped_client(&self) -> Client {
        match &*lock(&self.scope) {
            Some(s) => s.client.clone(),
            None => self.client.clone(),
        }
    }

    /// The group of a write, for its notice: (index from 1, groups, hosts).
    pub(super) fn group_notice(&self) -> Option<(usize, usize, Vec<String>)> {
        lock(&self.scope).as_ref().map(|s| {
            (
                s.index + 1,
                s.plan.groups.len(),
                s.plan.groups[s.index].hosts.clone(),
            )
        })
    }

    /// What the confirmation lists: in a rolling change every group's
    /// targets, each line saying its group (the operator confirms the
    /// whole change once, not its first group); else `targets` as given.
    pub(super) fn planned_targets(&self, targets: &[String]) -> Vec<String> {
        match &*lock(&self.scope) {
            Some(s) => {
                let n = s.plan.groups.len();
                s.plan
                    .groups
                    .iter()
                    .enumerate()
                    .flat_map(|(i, g)| {
                        g.targets
                            .iter()
                            .map(move |t| format!("group {}/{n}: {}", i + 1, t.name()))
                    })
                    .collect()
            }
            None => targets.to_vec(),
        }
    }
}
