//! HTTP behaviour of proxies: keep-alive to servers (`config.server-close`,
//! `config.no-prefer-last-server` for balance algorithms that do not pick
//! the server from the request, inherited through defaults) and
//! troubleshooting response headers left in place (`config.debug-header`).

use super::{conditional, finding, RuleDoc};
use crate::base::report::{Finding, Severity};
use crate::config::model::ConfigModel;

pub(super) const SERVER_CLOSE: RuleDoc = RuleDoc {
    id: "config.server-close",
    severity: Severity::Warning,
    title: "option http-server-close",
    meaning: "Client-side keep-alive only: the server connection is closed after every response, so each request pays a new TCP (and TLS) handshake to the server and burns source ports (TIME_WAIT).",
    fix: "Replace `option http-server-close` with `option http-keep-alive` and add `option prefer-last-server`.",
};

pub(super) const NO_PREFER_LAST_SERVER: RuleDoc = RuleDoc {
    id: "config.no-prefer-last-server",
    severity: Severity::Info,
    title: "Keep-alive without option prefer-last-server",
    meaning: "End-to-end keep-alive is on (the 2.x default) and the balance algorithm is not deterministic, so the balancer may pick another server for the next request of the same client connection and idle server connections are reused less.",
    fix: "Add `option prefer-last-server` to the backend (or to its defaults section). Only raised for balance algorithms that do not pick the server from the request (roundrobin, the default, static-rr, leastconn, first, random): with hashing (`balance source`, `uri`, `url_param`, `hdr()`, `rdp-cookie`, `hash`) the option makes little sense.",
};

pub(super) const DEBUG_HEADER: RuleDoc = RuleDoc {
    id: "config.debug-header",
    severity: Severity::Info,
    title: "Troubleshooting response header",
    meaning: "A frontend, defaults, backend or listen section sets an `X-` response header (`http-response` or `http-after-response` `set-header`/`add-header`): handy to tell which backend and server served a request (`curl -sI`), but it leaks internal names to clients if left in place.",
    fix: "Remove the `set-header X-...` line once the investigation is over, or restrict it to internal clients: `http-after-response set-header X-Served-By %[be_name]/%[srv_name] if { src 10.0.0.0/8 }` (one line in the frontend covers every backend and HAProxy's own error pages).",
};

pub(super) fn keep_alive(model: &ConfigModel, out: &mut Vec<Finding>) {
    for s in model
        .sections
        .iter()
        .filter(|s| s.kind == "defaults" || s.is_proxy())
    {
        if s.option_state("http-server-close") == Some(true) {
            if let Some(d) = s.find("option http-server-close").last() {
                let f = finding(
                    "config.server-close",
                    format!(
                        "{}: option http-server-close closes every server connection",
                        s.label()
                    ),
                )
                .evidence(d.evidence());
                out.push(conditional(f, d));
            }
        }
    }
    for s in model
        .proxies()
        .filter(|s| s.kind == "backend" || s.kind == "listen")
    {
        if model.effective_mode(s) != "http" || s.find("server").count() < 2 {
            continue;
        }
        let closes = ["http-server-close", "httpclose", "forceclose"]
            .iter()
            .any(|o| model.effective_option(s, o) == Some(true));
        if closes || model.effective_option(s, "prefer-last-server") == Some(true) {
            continue;
        }
        let balance = model
            .effective_last(s, "balance")
            .and_then(|d| d.args.first())
            .map_or("roundrobin", String::as_str);
        if !non_deterministic(balance) {
            continue;
        }
        out.push(
            finding(
                "config.no-prefer-last-server",
                format!(
                    "{}: keep-alive without option prefer-last-server",
                    s.label()
                ),
            )
            .evidence(format!(
                "{}: {} (mode http, balance {balance}, no prefer-last-server here or in its defaults)",
                s.location(),
                s.label()
            )),
        );
    }
}

/// Balance algorithms that do not pick the server from the request
/// (configuration.txt, `option prefer-last-server`: it "does not make much sense
/// to use this in combination with hashing algorithms" such as source, uri,
/// url_param, hdr(), rdp-cookie or hash).
fn non_deterministic(balance: &str) -> bool {
    let algo = balance.split('(').next().unwrap_or("").to_ascii_lowercase();
    matches!(
        algo.as_str(),
        "roundrobin" | "static-rr" | "leastconn" | "first" | "random"
    )
}

pub(super) fn debug_header(model: &ConfigModel, out: &mut Vec<Finding>) {
    let found = crate::config::headers::header_directives(model)
        .filter(|(_, _, name)| crate::config::headers::is_trace_header(name));
    for (s, d, name) in found {
        out.push(
            finding(
                "config.debug-header",
                format!("{} sets response header {name}", s.label()),
            )
            .evidence(d.evidence()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::lint::tests::*;
    use crate::config::lint::LintContext;

    #[test]
    fn keep_alive_rules_follow_defaults() {
        let cfg = GOOD.replace(
            "    option prefer-last-server\n",
            "    option http-server-close\n",
        );
        let f = lint_text(&cfg, &LintContext::default());
        let sc = get(&f, "config.server-close");
        assert!(sc.title.starts_with("defaults"));
        assert!(sc
            .advice
            .as_deref()
            .unwrap()
            .contains("option http-keep-alive"));
        assert!(!has(&f, "config.no-prefer-last-server"));
        // Backend re-enables keep-alive without prefer-last-server.
        let cfg2 = cfg.replace(
            "backend bk\n",
            "backend bk\n    no option http-server-close\n",
        );
        let f2 = lint_text(&cfg2, &LintContext::default());
        assert!(has(&f2, "config.no-prefer-last-server"));
        // Named defaults via `from` give prefer-last-server.
        let cfg3 = format!("{}defaults pls\n  mode http\n  option prefer-last-server\n  timeout connect 1s\n  timeout server 1s\ndefaults\n  mode http\n  timeout connect 1s\n  timeout server 1s\nbackend b2 from pls\n  server a 1.1.1.1:80 check\n  server b 1.1.1.2:80 check\nbackend b3\n  server a 1.1.1.1:80 check\n  server b 1.1.1.2:80 check\n", GOOD);
        let f3 = lint_text(&cfg3, &LintContext::default());
        let titles: Vec<_> = f3
            .iter()
            .filter(|x| x.id == "config.no-prefer-last-server")
            .map(|x| x.title.as_str())
            .collect();
        assert_eq!(titles.len(), 1, "{titles:?}");
        assert!(titles[0].starts_with("backend b3"));
    }

    #[test]
    fn prefer_last_server_only_for_non_deterministic_balance() {
        let base = GOOD.replace("    option prefer-last-server\n", "");
        assert!(get(
            &lint_text(&base, &LintContext::default()),
            "config.no-prefer-last-server"
        )
        .evidence[0]
            .contains("balance roundrobin"));
        for (balance, fires) in [
            ("roundrobin", true),
            ("static-rr", true),
            ("leastconn", true),
            ("first", true),
            ("random", true),
            ("random(2)", true),
            ("source", false),
            ("uri", false),
            ("uri whole", false),
            ("url_param userid", false),
            ("hdr(host)", false),
            ("rdp-cookie", false),
            ("rdp-cookie(mstshash)", false),
            ("hash req.cookie(id)", false),
        ] {
            let cfg = base.replace(
                "\nbackend bk\n",
                &format!("\nbackend bk\n    balance {balance}\n"),
            );
            let f = lint_text(&cfg, &LintContext::default());
            assert_eq!(has(&f, "config.no-prefer-last-server"), fires, "{balance}");
        }
        // Inherited from defaults.
        let cfg = base.replace("    mode http\n", "    mode http\n    balance source\n");
        assert!(!has(
            &lint_text(&cfg, &LintContext::default()),
            "config.no-prefer-last-server"
        ));
    }

    #[test]
    fn debug_header_only_for_troubleshooting_headers() {
        let cfg = GOOD.replace(
            "\nbackend bk\n",
            "\nbackend bk\n    http-response set-header X-Test ok\n    http-response set-header X-Frame-Options DENY\n    http-response add-header X-Backend %[be_name]\n",
        );
        let f = lint_text(&cfg, &LintContext::default());
        let d: Vec<_> = f.iter().filter(|x| x.id == "config.debug-header").collect();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].severity, Severity::Info);
        assert!(d[0].evidence[0].contains("X-Test ok"));
    }

    #[test]
    fn debug_header_in_any_proxy_section() {
        let cfg = GOOD
            .replace(
                "    bind :80\n",
                "    bind :80\n    http-after-response set-header X-Served-By %[be_name]/%[srv_name]\n",
            )
            .replace(
                "    mode http\n",
                "    mode http\n    http-response add-header X-Debug 1\n",
            );
        let f = lint_text(&cfg, &LintContext::default());
        let titles: Vec<_> = f
            .iter()
            .filter(|x| x.id == "config.debug-header")
            .map(|x| x.title.as_str())
            .collect();
        assert_eq!(
            titles,
            [
                "defaults sets response header X-Debug",
                "frontend fe sets response header X-Served-By"
            ]
        );
    }
}
