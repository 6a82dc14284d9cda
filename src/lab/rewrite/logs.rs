//! Where logs go in the lab: every `log` target of any section becomes the
//! lab's own (stdout, stderr, `fd@` and `ring@` targets are kept), and the
//! servers of `ring` sections point where nothing listens, without TLS, so no
//! log line leaves the lab.

use super::line::LineEdit;
use super::proxies::SERVER_TLS;
use super::servers::server_options;
use super::{remove_opt, RewriteError, Rewriter};
use crate::config::model::{Directive, Section};

impl Rewriter<'_> {
    pub(super) fn log(
        &mut self,
        s: &Section,
        d: &Directive,
        e: &mut LineEdit<'_>,
    ) -> Result<(), RewriteError> {
        let Some(target) = d.args.first() else {
            return Ok(());
        };
        let keep = target == "global"
            || target == "stdout"
            || target == "stderr"
            || target.starts_with("fd@")
            || target.starts_with("ring@");
        if !keep {
            let (new, why) = self.res.log_target().map_err(Self::res_err(d))?;
            self.replace_arg(s, d, e, 0, &new, &why);
        }
        Ok(())
    }

    pub(super) fn ring_server(
        &mut self,
        s: &Section,
        d: &Directive,
        e: &mut LineEdit<'_>,
    ) -> Result<(), RewriteError> {
        if d.args.len() < 2 {
            return Ok(());
        }
        let a = self.res.refusing().map_err(Self::res_err(d))?;
        e.set(2, &a.to_string());
        self.changed(
            d,
            s,
            format!("server {} {}", d.args[0], d.args[1]),
            a.to_string(),
            "nothing listens there: no log leaves the lab",
        );
        let mut tls = Vec::new();
        for o in server_options(&d.args, 2) {
            if SERVER_TLS.contains(&d.args[o.at].as_str()) {
                remove_opt(e, d, o, &mut tls);
            }
        }
        if !tls.is_empty() {
            self.removed(d, s, tls.join(" "), "no TLS to a stand-in");
        }
        Ok(())
    }
}
