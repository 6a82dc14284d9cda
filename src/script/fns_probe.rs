//! `http_probe`: one plain-HTTP request to a frontend, to see which response
//! headers come back (and so which backend and server served it).
//!
//! Plain HTTP only (ureq without TLS): an `https://` URL is a catchable
//! error of kind `tls_unsupported`. Redirects are never followed, a non-2xx
//! status is a result (not an error), proxies from the environment are
//! ignored (the point is to hit this frontend). The request runs off the
//! script thread, bounded by its own timeout (default `--timeout`), Ctrl-C
//! and --max-time.

use super::ctx::Ctx;
use super::errors::{invalid, to_rhai};
use super::fns_config::kind_error;
use super::reg;
use crate::base::error::Error;
use crate::base::report::Severity;
use crate::system::FindingDoc;
use rhai::{Dynamic, Engine, EvalAltResult, Map};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

type R<T> = Result<T, Box<EvalAltResult>>;

/// Longest timeout a probe may ask for.
const MAX_TIMEOUT_SECS: f64 = 300.0;
/// Bytes of the body kept (GET), e.g. HAProxy's own 503 page.
const BODY_SNIPPET: u64 = 2048;

/// The request `http_probe` sends.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeRequest {
    pub url: String,
    pub method: Method,
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
}

/// What came back.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeResponse {
    pub status: u16,
    pub reason: String,
    pub version: String,
    /// Lowercased names; repeated headers joined with `, `.
    pub headers: BTreeMap<String, String>,
    pub elapsed_ms: i64,
    pub body: String,
}

/// Why a probe failed; every variant names the URL.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{url}: https is not supported: harun is built without TLS; probe the frontend's plain-HTTP bind (http://...) or use `curl -sI {url}`")]
    Tls { url: String },
    #[error("{url}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("{url}: cannot connect: {cause}")]
    Connect { url: String, cause: String },
    #[error("{url}: timed out after {} ({cause})", humantime::format_duration(*.after))]
    Timeout {
        url: String,
        after: Duration,
        cause: String,
    },
    #[error("{url}: request failed: {cause}")]
    Failed { url: String, cause: String },
}

impl ProbeError {
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeError::Tls { .. } => "tls_unsupported",
            ProbeError::BadUrl { .. } => "invalid_input",
            ProbeError::Connect { .. } => "unreachable",
            ProbeError::Timeout { .. } => "timeout",
            ProbeError::Failed { .. } => "http_error",
        }
    }
}

/// Check a URL before anything is sent: `http://host[:port][/path]`.
pub fn check_url(url: &str) -> Result<(), ProbeError> {
    let bad = |reason: &str| ProbeError::BadUrl {
        url: url.escape_debug().to_string(),
        reason: reason.to_string(),
    };
    if url.chars().any(|c| c.is_control() || c == ' ') {
        return Err(bad("contains a space or a control character"));
    }
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Err(ProbeError::Tls {
            url: url.to_string(),
        });
    }
    let Some(rest) = lower.strip_prefix("http://") else {
        return Err(bad("expected an http:// URL (http://HOST[:PORT]/PATH)"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err(bad("has no host"));
    }
    url.parse::<ureq::http::Uri>()
        .map_err(|e| bad(&format!("not a valid URL: {e}")))?;
    Ok(())
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// Validate one request header (no header injection through CR/LF).
pub fn check_header(name: &str, value: &str) -> Result<(), String> {
    if name.is_empty() || !name.chars().all(is_tchar) {
        return Err(format!(
            "header name `{}` is not a token (letters, digits, -)",
            name.escape_debug()
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!(
            "header `{name}`: the value contains a line break or control character"
        ));
    }
    Ok(())
}

/// Response headers as one map: lowercased names, repeats joined with `, `
/// (as RFC 9110 allows; `set-cookie` joined too, for display).
pub fn collect_headers<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in pairs {
        let v = String::from_utf8_lossy(value).trim().to_string();
        out.entry(name.to_ascii_lowercase())
            .and_modify(|e| {
                e.push_str(", ");
                e.push_str(&v);
            })
            .or_insert(v);
    }
    out
}

fn classify(url: &str, timeout: Duration, e: ureq::Error) -> ProbeError {
    use std::io::ErrorKind;
    let url = url.to_string();
    match e {
        ureq::Error::Timeout(t) => ProbeError::Timeout {
            url,
            after: timeout,
            cause: format!("{t}"),
        },
        ureq::Error::Io(io) if matches!(io.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
            ProbeError::Timeout {
                url,
                after: timeout,
                cause: io.to_string(),
            }
        }
        ureq::Error::Io(io) => ProbeError::Connect {
            url,
            cause: io.to_string(),
        },
        ureq::Error::HostNotFound => ProbeError::Connect {
            url,
            cause: "host not found (DNS)".into(),
        },
        ureq::Error::ConnectionFailed => ProbeError::Connect {
            url,
            cause: "connection failed".into(),
        },
        ureq::Error::TlsRequired | ureq::Error::Tls(_) => ProbeError::Tls { url },
        ureq::Error::BadUri(reason) => ProbeError::BadUrl { url, reason },
        ureq::Error::Http(e) => ProbeError::BadUrl {
            url,
            reason: e.to_string(),
        },
        other => ProbeError::Failed {
            url,
            cause: other.to_string(),
        },
    }
}

/// Send the request (blocking). Never follows redirects.
pub fn probe(req: &ProbeRequest) -> Result<ProbeResponse, ProbeError> {
    check_url(&req.url)?;
    for (n, v) in &req.headers {
        check_header(n, v).map_err(|reason| ProbeError::BadUrl {
            url: req.url.clone(),
            reason,
        })?;
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(req.timeout))
        .proxy(None)
        .user_agent(concat!("harun/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let start = Instant::now();
    let mut response = match req.method {
        Method::Get => {
            let mut b = agent.get(&req.url);
            for (n, v) in &req.headers {
                b = b.header(n.as_str(), v.as_str());
            }
            b.call()
        }
        Method::Head => {
            let mut b = agent.head(&req.url);
            for (n, v) in &req.headers {
                b = b.header(n.as_str(), v.as_str());
            }
            b.call()
        }
    }
    .map_err(|e| classify(&req.url, req.timeout, e))?;
    let elapsed_ms = start.elapsed().as_millis() as i64;
    let status = response.status();
    let headers = collect_headers(
        response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes())),
    );
    let mut body = String::new();
    if req.method == Method::Get {
        let mut buf = Vec::new();
        // A snippet only; a body that stops early is still a response.
        let _ = response
            .body_mut()
            .as_reader()
            .take(BODY_SNIPPET)
            .read_to_end(&mut buf);
        body = String::from_utf8_lossy(&buf).into_owned();
    }
    Ok(ProbeResponse {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("").to_string(),
        version: format!("{:?}", response.version()),
        headers,
        elapsed_ms,
        body,
    })
}

fn timeout_of(v: &Dynamic) -> R<Duration> {
    let Some(secs) = super::errors::as_number(v) else {
        return Err(invalid(
            "timeout",
            v.to_string(),
            "expected seconds (int or float)",
        ));
    };
    if !(secs > 0.0 && secs <= MAX_TIMEOUT_SECS) {
        return Err(invalid(
            "timeout",
            secs.to_string(),
            format!("expected more than 0 and at most {MAX_TIMEOUT_SECS} seconds"),
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn request_of(ctx: &Ctx, url: &str, opts: Option<Map>) -> R<ProbeRequest> {
    let mut req = ProbeRequest {
        url: url.trim().to_string(),
        method: Method::Get,
        headers: Vec::new(),
        timeout: ctx.settings.io_timeout,
    };
    for (k, v) in opts.unwrap_or_default() {
        match k.as_str() {
            "headers" => {
                let Some(m) = v.clone().try_cast::<Map>() else {
                    return Err(invalid(
                        "headers",
                        v.to_string(),
                        "expected a map #{\"Name\": \"value\"}",
                    ));
                };
                for (n, val) in m {
                    if val.is_unit() {
                        continue;
                    }
                    let val = if val.is_string() {
                        val.into_string().unwrap_or_default()
                    } else {
                        val.to_string()
                    };
                    check_header(&n, &val)
                        .map_err(|reason| invalid("header", n.to_string(), reason))?;
                    req.headers.push((n.to_string(), val));
                }
            }
            "timeout" => req.timeout = timeout_of(&v)?,
            "method" => {
                req.method = match v.to_string().to_ascii_uppercase().as_str() {
                    "GET" => Method::Get,
                    "HEAD" => Method::Head,
                    _ => return Err(invalid("method", v.to_string(), "expected GET or HEAD")),
                }
            }
            other => {
                return Err(invalid(
                    "http_probe option",
                    other,
                    "expected headers, timeout or method",
                ))
            }
        }
    }
    Ok(req)
}

fn probe_error(e: ProbeError) -> Box<EvalAltResult> {
    match e {
        ProbeError::BadUrl { url, reason } => invalid("url", url, reason),
        ProbeError::Connect { url, cause } => to_rhai(Error::Unreachable {
            target: url,
            source: std::io::Error::other(cause),
        }),
        ProbeError::Timeout { url, after, .. } => to_rhai(Error::Timeout {
            target: url,
            what: "the HTTP response".into(),
            after,
        }),
        other => kind_error(other.kind(), other.to_string()),
    }
}

fn http_probe(ctx: &Ctx, url: &str, opts: Option<Map>) -> R<Map> {
    // A probe describes today's frontend, not the replayed day.
    if let Some(b) = ctx.replay() {
        return Err(to_rhai(Error::NotRecorded {
            bundle: b.dir().to_path_buf(),
            what: format!("`http_probe({url})`"),
            hint: "; a live HTTP probe cannot be replayed: run it against the frontend".into(),
        }));
    }
    let req = request_of(ctx, url, opts)?;
    // Fail fast (and without a thread) on a URL that cannot work.
    check_url(&req.url).map_err(probe_error)?;
    let r = ctx
        .block_on(async {
            let req = req.clone();
            tokio::task::spawn_blocking(move || probe(&req))
                .await
                .map_err(|e| Error::Other(format!("http_probe: {e}")))
        })
        .map_err(to_rhai)?
        .map_err(probe_error)?;
    let mut m = Map::new();
    m.insert("url".into(), req.url.into());
    m.insert("status".into(), (r.status as i64).into());
    m.insert("reason".into(), r.reason.into());
    m.insert("version".into(), r.version.into());
    let mut h = Map::new();
    for (k, v) in r.headers {
        h.insert(k.into(), v.into());
    }
    m.insert("headers".into(), Dynamic::from_map(h));
    m.insert("elapsed_ms".into(), r.elapsed_ms.into());
    m.insert("body".into(), r.body.into());
    Ok(m)
}

pub fn register(engine: &mut Engine, ctx: &Arc<Ctx>) {
    let c = ctx.clone();
    reg("http_probe", &["url: String", "Map"], "Send one plain-HTTP GET to `url` (a frontend) and return `#{url, status,\nreason, version, headers: #{lowercased name => value}, elapsed_ms, body}`\n(`body`: the first 2 KiB). Redirects are not followed (a 301 is a result, with\nits `location`), proxies from the environment are ignored, the timeout is\n`--timeout`. Catchable errors name the URL: `e.kind` is `unreachable`,\n`timeout`, `invalid_input` (bad URL) or `tls_unsupported` (https: not built\nin; probe the plain-HTTP bind or use `curl -sI`). In a replay:\n`not_recorded` (a probe is live).")
        .register_into_engine(engine, move |url: &str| http_probe(&c, url, None));
    let c = ctx.clone();
    reg("http_probe", &["url: String", "opts: Map", "Map"], "`http_probe(url)` with `#{headers: #{\"Host\": \"www.example.com\"}, timeout:\nseconds, method: \"GET\" or \"HEAD\"}`. Header names and values are validated (no\nline breaks).")
        .register_into_engine(engine, move |url: &str, opts: Map| http_probe(&c, url, Some(opts)));
}

/// Every finding id the `trace_header` playbook emits.
pub fn finding_docs() -> &'static [FindingDoc] {
    FINDING_DOCS
}

static FINDING_DOCS: &[FindingDoc] = &[
    FindingDoc {
        id: "trace.header-configured",
        severity: Severity::Ok,
        title: "A section sets a troubleshooting response header",
        meaning: "A frontend, defaults, backend or listen section has `http-response` or `http-after-response` `set-header X-...` (or `add-header`): a response that goes through it tells which backend (and server, with `%[be_name]/%[srv_name]`) produced it, e.g. with `curl -sI`. The evidence gives each section and file:line.",
        fix: "Probe a frontend with `harun trace_header -p url=http://HOST:PORT/` (or `curl -sI`) to see it. Remove the line after the investigation, or restrict it to internal clients (`if { src 10.0.0.0/8 }`): it leaks internal names.",
    },
    FindingDoc {
        id: "trace.no-frontend",
        severity: Severity::Info,
        title: "The configuration has no frontend: no response to trace",
        meaning: "No frontend or listen section (Debian's default haproxy.cfg has only global and defaults): HAProxy accepts no traffic, so no response can carry a troubleshooting header.",
        fix: "Add a frontend (or listen) section with a `bind` line and a backend, reload, then run `harun trace_header` again for the one line to add.",
    },
    FindingDoc {
        id: "trace.no-header",
        severity: Severity::Info,
        title: "Frontends whose responses carry no troubleshooting header",
        meaning: "Neither these frontends (nor their defaults) nor some of the backends behind them set an `X-` response header: a response does not say which backend and server produced it, which makes routing problems slow to trace.",
        fix: "ONE line in each frontend listed (not one per backend): `http-after-response set-header X-Served-By %[be_name]/%[srv_name]` (2.2+; it also runs on HAProxy's own 503/403 pages), then `haproxy -c -f /etc/haproxy/haproxy.cfg && systemctl reload haproxy`. It leaks internal names: restrict it (`if { src 10.0.0.0/8 }`) or remove it when the investigation is over.",
    },
    FindingDoc {
        id: "trace.served-by",
        severity: Severity::Info,
        title: "What the probe saw",
        meaning: "The probed URL answered; the evidence lists the status and the troubleshooting header that came back (which backend/server served it).",
        fix: "Nothing to fix: compare with where the request should have gone (`use_backend` rules, Host header with `-p host=`).",
    },
    FindingDoc {
        id: "trace.header-absent",
        severity: Severity::Info,
        title: "The probe's response carries no troubleshooting header",
        meaning: "The response came back without the expected `X-` header: the backend that served it does not set one, the request did not reach a backend (a redirect, deny or 503 from HAProxy itself: `http-response` rules do not run on those), or the running process still has an older configuration.",
        fix: "Add one line to the frontend: `http-after-response set-header X-Served-By %[be_name]/%[srv_name]` (it also covers HAProxy's own responses), check with `haproxy -c` and reload; check the Host header (`-p host=`).",
    },
    FindingDoc {
        id: "trace.probe-failed",
        severity: Severity::Warning,
        title: "The HTTP probe failed",
        meaning: "The URL could not be probed: connection refused (nothing listens there), timeout, a malformed URL, or https (harun is built without TLS).",
        fix: "Check the frontend's `bind` lines (`ss -ltnp`) and probe its plain-HTTP address; for an https-only frontend use `curl -skI https://HOST/`.",
    },
    FindingDoc {
        id: "trace.config-unreadable",
        severity: Severity::Warning,
        title: "The configuration could not be read to look for the header",
        meaning: "`trace_header` reads the HAProxy configuration (-c) to find `http-response set-header X-...` lines; it could not be read, so only the probe (if any) was done.",
        fix: "Pass the configuration with `-c PATH` (or HARUN_CONFIG), run as a user that can read it.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_before_sending() {
        assert!(check_url("http://127.0.0.1:8080/").is_ok());
        assert!(check_url("http://example.com").is_ok());
        assert!(check_url("HTTP://example.com/a?b=c").is_ok());
        assert!(matches!(
            check_url("https://example.com/"),
            Err(ProbeError::Tls { .. })
        ));
        for bad in [
            "",
            "example.com",
            "ftp://x/",
            "http://",
            "http:///path",
            "http://:80/",
            "http://a b/",
            "http://x/\r\nHost: y",
        ] {
            assert!(
                matches!(check_url(bad), Err(ProbeError::BadUrl { .. })),
                "{bad:?}"
            );
        }
        let e = check_url("https://h/").unwrap_err().to_string();
        assert!(e.contains("TLS") && e.contains("curl -sI"), "{e}");
    }

    #[test]
    fn request_headers_cannot_inject() {
        assert!(check_header("Host", "www.example.com").is_ok());
        assert!(check_header("X-Test", "a\tb").is_ok());
        assert!(check_header("X Test", "v").is_err());
        assert!(check_header("", "v").is_err());
        assert!(check_header("Host:", "v").is_err());
        assert!(check_header("X-A", "v\r\nX-B: w").is_err());
        assert!(check_header("X-A", "v\0").is_err());
    }

    #[test]
    fn response_headers_are_lowercased_and_repeats_joined() {
        let h = collect_headers([
            ("X-Served-By", &b"bk_app/app1"[..]),
            ("Set-Cookie", &b"a=1"[..]),
            ("set-cookie", &b"b=2 "[..]),
            ("Content-Length", &b"0"[..]),
        ]);
        assert_eq!(h["x-served-by"], "bk_app/app1");
        assert_eq!(h["set-cookie"], "a=1, b=2");
        assert_eq!(h.len(), 3);
    }

    #[test]
    fn errors_name_the_url_and_the_cause() {
        let e = ProbeError::Connect {
            url: "http://127.0.0.1:1/".into(),
            cause: "Connection refused".into(),
        };
        assert_eq!(e.kind(), "unreachable");
        assert!(e.to_string().contains("http://127.0.0.1:1/"));
    }
}
