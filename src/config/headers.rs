//! Troubleshooting response headers (`X-Served-By` and the like): where the
//! configuration sets them, and which proxies answer without one. Shared by
//! the `config.debug-header` lint rule and the `trace_header` playbook (via
//! the `trace_headers()` primitive).

use super::model::{ConfigModel, Directive, Section};
use serde::Serialize;

/// `X-` headers that are not about tracing: security and correlation headers.
pub const NOT_TRACE_HEADERS: &[&str] = &[
    "x-frame-options",
    "x-content-type-options",
    "x-xss-protection",
    "x-permitted-cross-domain-policies",
    "x-robots-tag",
    "x-dns-prefetch-control",
    "x-download-options",
    "x-ua-compatible",
    "x-request-id",
    "x-correlation-id",
];

/// Whether a header name is a troubleshooting header: `X-...` and not one of
/// [`NOT_TRACE_HEADERS`]. Case-insensitive.
pub fn is_trace_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("x-") && !NOT_TRACE_HEADERS.contains(&lower.as_str())
}

/// Every `http-response` / `http-after-response` `set-header` / `add-header`
/// of the frontend, defaults, backend and listen sections, with its header name.
pub fn header_directives(
    model: &ConfigModel,
) -> impl Iterator<Item = (&Section, &Directive, &str)> {
    model
        .sections
        .iter()
        .filter(|s| {
            matches!(
                s.kind.as_str(),
                "frontend" | "defaults" | "backend" | "listen"
            )
        })
        .flat_map(|s| s.directives.iter().map(move |d| (s, d)))
        .filter(|(_, d)| {
            (d.keyword == "http-response" || d.keyword == "http-after-response")
                && matches!(
                    d.args.first().map(String::as_str),
                    Some("set-header" | "add-header")
                )
        })
        .filter_map(|(s, d)| d.args.get(1).map(|name| (s, d, name.as_str())))
}

/// Where a header is set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeaderSet {
    /// `backend bk_app`, `defaults`, ...
    pub section: String,
    pub header: String,
    pub value: String,
    /// The directive as written (`http-response set-header X-Served-By ...`).
    pub line: String,
    pub location: String,
}

/// A proxy whose responses carry no such header.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Uncovered {
    pub name: Option<String>,
    pub kind: String,
    pub location: String,
}

/// Where the header is set, and the proxies that neither set it nor inherit
/// it from their defaults chain (`listen` sections count on both sides).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Coverage {
    pub sets: Vec<HeaderSet>,
    pub uncovered_frontends: Vec<Uncovered>,
    pub uncovered_backends: Vec<Uncovered>,
}

/// The header `want` (case-insensitive), or any troubleshooting header when
/// `want` is `None`.
pub fn coverage(model: &ConfigModel, want: Option<&str>) -> Coverage {
    let want = want.map(str::to_ascii_lowercase);
    let matches = |name: &str| match &want {
        Some(w) => name.to_ascii_lowercase() == *w,
        None => is_trace_header(name),
    };
    let mut out = Coverage::default();
    let mut setters: Vec<&Section> = Vec::new();
    for (s, d, name) in header_directives(model).filter(|(_, _, n)| matches(n)) {
        out.sets.push(HeaderSet {
            section: s.label(),
            header: name.to_string(),
            value: d.args.get(2).cloned().unwrap_or_default(),
            line: format!("{} {}", d.keyword, d.args.join(" ")),
            location: d.location(),
        });
        if !setters.iter().any(|x| std::ptr::eq(*x, s)) {
            setters.push(s);
        }
    }
    let sets_it = |s: &Section| setters.iter().any(|x| std::ptr::eq(*x, s));
    for s in model.proxies() {
        let covered = sets_it(s) || model.defaults_chain(s).into_iter().any(sets_it);
        if covered {
            continue;
        }
        let u = Uncovered {
            name: s.name.clone(),
            kind: s.kind.clone(),
            location: s.location(),
        };
        if matches!(s.kind.as_str(), "frontend" | "listen") {
            out.uncovered_frontends.push(u.clone());
        }
        if matches!(s.kind.as_str(), "backend" | "listen") {
            out.uncovered_backends.push(u);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::parse_config;
    use std::path::Path;

    #[test]
    fn sets_and_coverage_through_defaults() {
        let cfg =
            "defaults d1\n    mode http\n    http-response set-header X-Served-By %[be_name]\n\
                   frontend fe from d1\n    bind :80\n\
                   defaults d2\n    mode http\n\
                   frontend fe2\n    bind :81\n    http-response set-header X-Frame-Options DENY\n\
                   backend bk\n    http-after-response add-header X-Test ok\n\
                   backend bk2\n";
        let m = parse_config(cfg, Path::new("h.cfg"));
        let c = coverage(&m, None);
        let sections: Vec<&str> = c.sets.iter().map(|s| s.section.as_str()).collect();
        assert_eq!(sections, ["defaults d1", "backend bk"]);
        assert_eq!(
            c.sets[0].line,
            "http-response set-header X-Served-By %[be_name]"
        );
        assert_eq!(c.sets[0].location, "h.cfg:3");
        // fe inherits from d1; fe2 and bk2 follow d2, which sets nothing.
        let fes: Vec<_> = c
            .uncovered_frontends
            .iter()
            .map(|u| u.name.as_deref())
            .collect();
        assert_eq!(fes, [Some("fe2")]);
        let bes: Vec<_> = c
            .uncovered_backends
            .iter()
            .map(|u| u.name.as_deref())
            .collect();
        assert_eq!(bes, [Some("bk2")]);
        // One named header only.
        let only = coverage(&m, Some("x-test"));
        assert_eq!(only.sets.len(), 1);
        assert!(!is_trace_header("X-Request-ID") && is_trace_header("x-served-by"));
    }
}
