//! Draining a server, the pure parts: resolving a server name, and deciding
//! from `show stat` and `show servers state` whether a drain is complete.
//!
//! A drain is complete when the server has no current session (`scur`), no
//! queued request (`qcur`) and is out of rotation according to the admin bit
//! mask of `show servers state` (drain, or maintenance). The `status` text of
//! `show stat` is not used: a drained server whose check fails reads `DOWN`.

use crate::base::error::{Error, Result};
use crate::runtime::servers_state::ServerState;
use crate::runtime::stat::Stat;
use crate::runtime::ServerRef;
use serde::Serialize;

/// What keeps a drain from being complete, on one target.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Remaining {
    /// Current sessions on the server.
    pub scur: i64,
    /// Requests queued on the server.
    pub qcur: i64,
    /// The forced or inherited drain flag is set.
    pub drain: bool,
    /// The server is in maintenance (stronger than drain: also out of rotation).
    pub maint: bool,
    /// The server was found in both replies.
    pub found: bool,
}

impl Remaining {
    /// Out of rotation (drain or maintenance).
    pub fn out_of_rotation(&self) -> bool {
        self.drain || self.maint
    }

    /// Nothing left: out of rotation, no session, no queued request.
    pub fn is_drained(&self) -> bool {
        self.found && self.out_of_rotation() && self.scur == 0 && self.qcur == 0
    }

    /// Sessions and queued requests still on the server.
    pub fn left(&self) -> i64 {
        self.scur.max(0) + self.qcur.max(0)
    }
}

/// Where a drain of `server` stands, from `show stat <bk> 4 -1` (or a full
/// `show stat`) and `show servers state <bk>` of one target.
pub fn drain_status(stat: &Stat, states: &[ServerState], server: &ServerRef) -> Remaining {
    let mut r = Remaining::default();
    let row = stat.find(&server.backend, &server.server);
    let state = states
        .iter()
        .find(|s| s.be_name == server.backend && s.srv_name == server.server);
    if let Some(row) = row {
        // An empty field is "no value"; for scur/qcur on a server that means 0.
        r.scur = stat.int(row, "scur").unwrap_or(0);
        r.qcur = stat.int(row, "qcur").unwrap_or(0);
    }
    if let Some(s) = state {
        r.drain = s.admin.is_drain();
        r.maint = s.admin.is_maint();
    }
    r.found = row.is_some() && state.is_some();
    r
}

/// Resolve `backend/server`, or a bare server name to that server in every
/// backend that has it. `known` lists the `(backend, server)` pairs of the
/// live process (from `show servers state`); it is not consulted for an
/// explicit `backend/server`, which HAProxy itself checks.
pub fn resolve_servers<'a>(
    name: &str,
    known: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<ServerRef>> {
    if name.contains('/') {
        return Ok(vec![ServerRef::parse(name)?]);
    }
    crate::runtime::command::validate_name("server name", name)?;
    let mut out: Vec<ServerRef> = Vec::new();
    for (b, s) in known {
        if s == name {
            let r = ServerRef::new(b, s)?;
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    if out.is_empty() {
        return Err(Error::InvalidInput {
            what: "server",
            value: name.to_string(),
            reason: "no backend has a server by that name (use `backend/server`; `servers()` lists them)".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::servers_state::parse_servers_state;
    use crate::runtime::stat::parse_stat;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/runtime/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    const STAT: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,status,\n\
        bk,s1,0,0,3,5,,DOWN,\n\
        bk,s2,2,4,1,1,1,UP,\n\
        bk,s3,,,,,,DRAIN,\n\
        bk,BACKEND,0,0,4,5,,UP,\n";

    fn states(mask1: u32, mask2: u32, mask3: u32) -> Vec<ServerState> {
        let text = format!(
            "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight\n\
             3 bk 1 s1 127.0.0.1 0 {mask1} 1\n\
             3 bk 2 s2 127.0.0.1 2 {mask2} 1\n\
             3 bk 3 s3 127.0.0.1 2 {mask3} 1\n"
        );
        parse_servers_state(&text).unwrap()
    }

    #[test]
    fn a_drained_server_whose_check_fails_is_judged_by_the_mask_not_the_status() {
        let stat = parse_stat(STAT).unwrap();
        let s1 = ServerRef::parse("bk/s1").unwrap();
        // status DOWN, drain flag set (8), sessions left.
        let r = drain_status(&stat, &states(8, 0, 8), &s1);
        assert!(r.found && r.drain && !r.maint);
        assert_eq!((r.scur, r.qcur, r.left()), (3, 0, 3));
        assert!(!r.is_drained());
        // Same sessions gone: drained, though the status text says DOWN.
        let stat0 = parse_stat(&STAT.replace("bk,s1,0,0,3,", "bk,s1,0,0,0,")).unwrap();
        assert!(drain_status(&stat0, &states(8, 0, 8), &s1).is_drained());
        // No drain flag: not drained even with no session (someone set it ready).
        assert!(!drain_status(&stat0, &states(0, 0, 8), &s1).is_drained());
        // Maintenance (forced, 1) counts as out of rotation.
        assert!(drain_status(&stat0, &states(1, 0, 8), &s1).is_drained());
        // Inherited drain (0x10) too; CMAINT alone (4) is not maintenance.
        assert!(drain_status(&stat0, &states(16, 0, 8), &s1).is_drained());
        assert!(!drain_status(&stat0, &states(4, 0, 8), &s1).is_drained());
    }

    #[test]
    fn queued_requests_keep_a_drain_waiting_and_empty_fields_are_zero() {
        let stat = parse_stat(STAT).unwrap();
        let s2 = ServerRef::parse("bk/s2").unwrap();
        let r = drain_status(&stat, &states(0, 8, 8), &s2);
        assert_eq!((r.scur, r.qcur), (1, 2));
        assert!(!r.is_drained());
        let s3 = ServerRef::parse("bk/s3").unwrap();
        let r = drain_status(&stat, &states(0, 0, 8), &s3);
        assert_eq!((r.scur, r.qcur), (0, 0));
        assert!(r.is_drained());
        let missing = ServerRef::parse("bk/nope").unwrap();
        let r = drain_status(&stat, &states(0, 0, 8), &missing);
        assert!(!r.found && !r.is_drained());
    }

    #[test]
    fn real_2_6_replies() {
        let stat = parse_stat(&fixture("stat-2.6.csv")).unwrap();
        let states = parse_servers_state(&fixture("servers-state-be_app-2.6.txt")).unwrap();
        let app2 = drain_status(&stat, &states, &ServerRef::parse("be_app/app2").unwrap());
        assert!(app2.found && app2.drain && app2.is_drained(), "{app2:?}");
        let app1 = drain_status(&stat, &states, &ServerRef::parse("be_app/app1").unwrap());
        assert!(app1.found && !app1.out_of_rotation());
        let app3 = drain_status(&stat, &states, &ServerRef::parse("be_app/app3").unwrap());
        assert!(app3.maint && app3.is_drained());
    }

    #[test]
    fn bare_names_resolve_to_every_backend_that_has_them() {
        let known = [
            ("bk_a", "web1"),
            ("bk_b", "web1"),
            ("bk_b", "web2"),
            ("bk_a", "web1"),
        ];
        let r = resolve_servers("web1", known.iter().copied()).unwrap();
        assert_eq!(
            r.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            ["bk_a/web1", "bk_b/web1"]
        );
        let err = resolve_servers("web9", known.iter().copied()).unwrap_err();
        assert!(err.to_string().contains("web9"), "{err}");
        assert_eq!(err.exit_code(), crate::base::error::ExitCode::Usage);
        // Explicit names are not looked up.
        assert_eq!(
            resolve_servers("bk_z/x", known.iter().copied()).unwrap()[0].to_string(),
            "bk_z/x"
        );
        assert!(resolve_servers("we b1", known.iter().copied()).is_err());
        assert!(resolve_servers("bk/s;x", known.iter().copied()).is_err());
    }
}
