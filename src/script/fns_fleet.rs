//! The fleet from a playbook: `targets()`, what the run talks to and what
//! an inventory says about each target (`crate::fleet` reads inventories).

use super::{reg, Ctx};
use crate::fleet::Member;
use rhai::{Array, Dynamic, Engine, Map};
use std::sync::Arc;

/// One target as a map: every documented key present, `()` when unknown.
fn target_map(m: &Member) -> Map {
    let mut out = Map::new();
    let opt = |v: Option<Dynamic>| v.unwrap_or(Dynamic::UNIT);
    out.insert("name".into(), m.name.clone().into());
    out.insert("host".into(), m.host.clone().into());
    out.insert("port".into(), opt(m.port.map(|p| Dynamic::from(p as i64))));
    out.insert("user".into(), opt(m.user.clone().map(Dynamic::from)));
    out.insert("socket".into(), m.socket.clone().into());
    out.insert(
        "groups".into(),
        m.groups
            .iter()
            .map(|g| Dynamic::from(g.clone()))
            .collect::<Array>()
            .into(),
    );
    out.insert("connection".into(), m.connection.as_str().into());
    out.insert("address".into(), m.address.to_string().into());
    out
}

/// Every target of the run, in the order results come in.
pub(super) fn targets(ctx: &Ctx) -> Array {
    ctx.client
        .targets()
        .iter()
        .map(|t| {
            let from_inventory = t
                .host_name()
                .and_then(|h| ctx.settings.fleet.iter().find(|m| m.name == h));
            let m = match from_inventory {
                Some(m) => m.clone(),
                None => Member::direct(&t.address, &t.name()),
            };
            Dynamic::from_map(target_map(&m))
        })
        .collect()
}

pub fn register(engine: &mut Engine, ctx: &Arc<Ctx>) {
    let c = ctx.clone();
    reg(
        "targets",
        &["Array"],
        "The targets this run talks to, one map each (keys below): the hosts of the\ninventory (`-i`, `--limit`) with what it says about them, and the sockets given\nwith `-s`. `name` is what `target` keys say.",
    )
    .register_into_engine(engine, move || targets(&c));
}
