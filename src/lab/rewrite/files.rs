//! Files a configuration names: certificates, maps and pattern files, error
//! files, Lua scripts (when kept at all). Those this user can read are kept;
//! the others are replaced by a stand-in in the lab's directory or removed,
//! each reported.

use super::line::LineEdit;
use super::servers::bind_options;
use super::{remove_opt, safe_name, RewriteError, Rewriter, StandIn, LAB_CERTIFICATE};
use crate::config::model::{ConfigModel, Directive, Section};
use std::path::{Path, PathBuf};

/// How HAProxy turns a relative path into a file: `crt-base`/`ca-base` for
/// certificates, then `default-path` (configuration.txt, "default-path").
pub(super) struct PathRules {
    default_path: Option<(String, Option<String>)>,
    crt_base: Option<String>,
    ca_base: Option<String>,
    cwd: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Base {
    None,
    Crt,
    Ca,
}

impl PathRules {
    pub fn from_model(model: &ConfigModel, cwd: PathBuf) -> PathRules {
        let last = |kw: &str| {
            model
                .global_find(kw)
                .last()
                .and_then(|d| d.args.first().cloned())
        };
        let default_path = model.global_find("default-path").next().and_then(|d| {
            let kind = d.args.first()?.clone();
            Some((kind, d.args.get(1).cloned()))
        });
        PathRules {
            default_path,
            crt_base: last("crt-base"),
            ca_base: last("ca-base"),
            cwd,
        }
    }

    /// True when relative paths are not read from the working directory: the
    /// lab's copy lives elsewhere, so kept relative paths are written in full.
    pub fn relative_moves(&self) -> bool {
        matches!(&self.default_path, Some((k, _)) if k != "current")
    }

    /// The file HAProxy opens for `p` written in `cfg_file`; `None` when it
    /// depends on an environment variable.
    pub fn resolve(&self, p: &str, base: Base, cfg_file: &Path) -> Option<PathBuf> {
        if p.contains('$') {
            return None;
        }
        let mut path = PathBuf::from(p);
        let base = match base {
            Base::Crt => self.crt_base.as_deref(),
            Base::Ca => self.ca_base.as_deref(),
            Base::None => None,
        };
        if let (false, Some(b)) = (path.is_absolute(), base) {
            path = Path::new(b).join(path);
        }
        if path.is_absolute() {
            return Some(path);
        }
        let config_dir = cfg_file.parent().unwrap_or(Path::new(".")).to_path_buf();
        let root = match &self.default_path {
            Some((k, _)) if k == "config" => config_dir,
            Some((k, _)) if k == "parent" => {
                config_dir.parent().unwrap_or(&config_dir).to_path_buf()
            }
            Some((k, Some(origin))) if k == "origin" => PathBuf::from(origin),
            _ => self.cwd.clone(),
        };
        let root = if root.is_absolute() {
            root
        } else {
            self.cwd.join(root)
        };
        Some(root.join(path))
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Time-out",
        410 => "Gone",
        413 => "Payload Too Large",
        425 => "Too Early",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Time-out",
        _ => "Status",
    }
}

/// An HTTP response HAProxy accepts as an error file.
fn error_response(code: u16, original: &str) -> String {
    let body = format!("harun lab stand-in for {original}\n");
    format!(
        "HTTP/1.0 {code} {}\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        reason(code),
        body.len()
    )
}

/// The paths a word refers to as map or pattern files inside sample
/// expressions: `map_dom(/etc/x.map,def)`, `set-map(/etc/x.map)`.
fn embedded_files(word: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = word.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.';
    let mut i = 0;
    while let Some(pos) = word[i..].find('(') {
        let open = i + pos;
        let mut start = open;
        while start > 0 && ident(bytes[start - 1]) {
            start -= 1;
        }
        let name = &word[start..open];
        let takes_file = name == "map"
            || (name.starts_with("map_")
                && name[4..]
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_'))
            || matches!(
                name,
                "set-map" | "del-map" | "add-acl" | "del-acl" | "clear-map" | "clear-acl"
            );
        if takes_file {
            let rest = &word[open + 1..];
            let end = rest.find([',', ')']).unwrap_or(rest.len());
            let path = rest[..end].trim();
            // `virt@`/`opt@` maps (3.x) have no file.
            if !path.is_empty() && !path.contains('@') && !out.iter().any(|p| p == path) {
                out.push(path.to_string());
            }
        }
        i = open + 1;
    }
    out
}

impl<'a> Rewriter<'a> {
    fn standin(&mut self, original: &str, contents: impl FnOnce() -> String) -> PathBuf {
        if let Some(p) = self.standin_for.get(original) {
            return p.clone();
        }
        let n = self.standins.len() + 1;
        let path = self
            .res
            .dir()
            .join("standin")
            .join(format!("{n}-{}", safe_name(original)));
        self.standins.push(StandIn {
            path: path.clone(),
            contents: contents(),
        });
        self.standin_for.insert(original.to_string(), path.clone());
        path
    }

    fn lab_certificate(&mut self) -> PathBuf {
        let key = "\0harun-lab-certificate";
        if let Some(p) = self.standin_for.get(key) {
            return p.clone();
        }
        let path = self.res.dir().join("standin").join("harun-lab.pem");
        self.standins.push(StandIn {
            path: path.clone(),
            contents: LAB_CERTIFICATE.to_string(),
        });
        self.standin_for.insert(key.to_string(), path.clone());
        path
    }

    /// Whether the file is there; when it is, a relative path that the copy's
    /// new place would change is written in full into word `word`.
    fn present(
        &self,
        d: &Directive,
        value: &str,
        base: Base,
        e: &mut LineEdit<'_>,
        word: usize,
    ) -> bool {
        let Some(path) = self.paths.resolve(value, base, &d.file) else {
            return false;
        };
        if !self.res.readable(&path) {
            return false;
        }
        if self.paths.relative_moves() && !Path::new(value).is_absolute() && base == Base::None {
            e.set(word, &path.display().to_string());
        }
        true
    }

    fn missing_why(&self, value: &str) -> &'static str {
        if value.contains('$') {
            "names an environment variable"
        } else {
            "not readable here"
        }
    }

    pub(super) fn file_references(
        &mut self,
        s: &Section,
        d: &Directive,
        e: &mut LineEdit<'_>,
    ) -> Result<(), RewriteError> {
        let kw = d.keyword.as_str();
        let first = d.args.first().map(String::as_str).unwrap_or("");
        match kw {
            "errorfile" if d.args.len() >= 2 => {
                let path = d.args[1].clone();
                if !self.present(d, &path, Base::None, e, 2) {
                    let code = first.parse().unwrap_or(503);
                    let p = self.standin(&path, || error_response(code, &path));
                    e.set(2, &p.display().to_string());
                    let why = format!("{}: a stand-in {code} response", self.missing_why(&path));
                    self.changed(
                        d,
                        s,
                        format!("errorfile {first} {path}"),
                        p.display().to_string(),
                        &why,
                    );
                }
            }
            "lua-load"
            | "lua-load-per-thread"
            | "ssl-dh-param-file"
            | "h1-case-adjust-file"
            | "issuers-chain-path"
            | "httpclient.ssl.ca-file"
                if !first.is_empty() && !self.present(d, first, Base::None, e, 1) =>
            {
                let why = if kw.starts_with("lua") {
                    "missing here: the actions, services and fetches it defines will be unknown"
                } else {
                    "missing here"
                };
                self.drop_line(s, d, e, why);
            }
            _ => {}
        }
        // Pattern files after `-f` (in `acl` lines and inline conditions).
        let mut in_condition = kw == "acl";
        for i in 0..d.args.len() {
            let a = d.args[i].as_str();
            if matches!(a, "if" | "unless" | "{") {
                in_condition = true;
            }
            if in_condition && a == "-f" {
                if let Some(path) = d.args.get(i + 1).cloned() {
                    if !self.present(d, &path, Base::None, e, i + 2) {
                        let p = self.standin(&path, String::new);
                        e.set(i + 2, &p.display().to_string());
                        let why = format!("{}: an empty pattern file", self.missing_why(&path));
                        self.changed(d, s, format!("-f {path}"), p.display().to_string(), &why);
                    }
                }
            }
        }
        // Maps inside sample expressions and map/acl actions.
        for i in 0..d.args.len() {
            for path in embedded_files(&d.args[i]) {
                let mut scratch = LineEdit::new("");
                if self.present(d, &path, Base::None, &mut scratch, 0) {
                    if self.paths.relative_moves() && !Path::new(&path).is_absolute() {
                        if let Some(abs) = self.paths.resolve(&path, Base::None, &d.file) {
                            e.replace_in(i + 1, &d.args[i], &path, &abs.display().to_string());
                        }
                    }
                    continue;
                }
                let p = self.standin(&path, String::new);
                e.replace_in(i + 1, &d.args[i], &path, &p.display().to_string());
                let why = format!(
                    "{}: an empty map (lookups return their default)",
                    self.missing_why(&path)
                );
                self.changed(d, s, path.clone(), p.display().to_string(), &why);
            }
        }
        // Files answered by http-request/http-response/http-error actions.
        if kw.starts_with("http-") {
            let status = d
                .args
                .iter()
                .position(|a| a == "status")
                .and_then(|i| d.args.get(i + 1))
                .and_then(|c| c.parse::<u16>().ok());
            let code = status.unwrap_or(match first {
                "deny" => 403,
                "tarpit" => 500,
                "auth" => 401,
                _ => 200,
            });
            for i in 0..d.args.len() {
                let k = d.args[i].as_str();
                if !matches!(k, "errorfile" | "file" | "lf-file") {
                    continue;
                }
                let Some(path) = d.args.get(i + 1).cloned() else {
                    continue;
                };
                if self.present(d, &path, Base::None, e, i + 2) {
                    continue;
                }
                let p = if k == "errorfile" {
                    self.standin(&path, || error_response(code, &path))
                } else {
                    self.standin(&path, || format!("harun lab stand-in for {path}\n"))
                };
                e.set(i + 2, &p.display().to_string());
                let why = format!("{}: a stand-in", self.missing_why(&path));
                self.changed(d, s, format!("{k} {path}"), p.display().to_string(), &why);
            }
        }
        Ok(())
    }

    /// The first certificate a readable `crt-list` names that is not
    /// readable here (HAProxy refuses the bind line for it). Production keeps
    /// the list in /etc/haproxy and the keys where only root reads them.
    fn unreadable_in_list(&self, d: &Directive, list: &str) -> Option<String> {
        let path = self.paths.resolve(list, Base::Crt, &d.file)?;
        let text = self.res.read_list(&path)?;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cert = line.split_whitespace().next().unwrap_or("");
            let readable = self
                .paths
                .resolve(cert, Base::Crt, &d.file)
                .is_some_and(|p| self.res.readable(&p));
            if !readable {
                return Some(cert.to_string());
            }
        }
        None
    }

    /// Certificates and CA files of a TLS bind.
    pub(super) fn bind_tls(&mut self, s: &Section, d: &Directive, e: &mut LineEdit<'_>) {
        let opts = bind_options(&d.args, 1);
        let value = |o: &super::Opt| o.value.map(|v| d.args[v].clone()).unwrap_or_default();
        let crts: Vec<_> = opts
            .iter()
            .filter(|o| matches!(d.args[o.at].as_str(), "crt" | "crt-list"))
            .copied()
            .collect();
        let mut missing = Vec::new();
        for o in &crts {
            let v = value(o);
            if let Some(vi) = o.value {
                if !self.present(d, &v, Base::Crt, e, vi + 1) {
                    missing.push(format!("{} {v}", d.args[o.at]));
                } else if d.args[o.at] == "crt-list" {
                    if let Some(cert) = self.unreadable_in_list(d, &v) {
                        missing.push(format!("crt-list {v} (its certificate {cert})"));
                    }
                }
            }
        }
        if !missing.is_empty() {
            let cert = self.lab_certificate();
            let mut replaced = false;
            for o in &crts {
                if !replaced {
                    e.set(o.at + 1, "crt");
                    if let Some(vi) = o.value {
                        e.set(vi + 1, &cert.display().to_string());
                    }
                    replaced = true;
                } else {
                    remove_opt(e, d, *o, &mut Vec::new());
                }
            }
            let all: Vec<String> = crts
                .iter()
                .map(|o| format!("{} {}", d.args[o.at], value(o)))
                .collect();
            let why = format!(
                "{} is not readable here: the lab's self-signed certificate for localhost",
                missing.join(", ")
            );
            self.changed(d, s, all.join(" "), format!("crt {}", cert.display()), &why);
            let mut sni = Vec::new();
            for o in &opts {
                if matches!(d.args[o.at].as_str(), "strict-sni" | "ocsp-update") {
                    remove_opt(e, d, *o, &mut sni);
                }
            }
            if !sni.is_empty() {
                self.removed(d, s, sni.join(" "), "they need the real certificate");
            }
        }
        let mut removed = Vec::new();
        let mut ca_gone = false;
        let mut sign_gone = false;
        for o in &opts {
            let k = d.args[o.at].as_str();
            if !matches!(
                k,
                "ca-file" | "ca-verify-file" | "crl-file" | "ca-sign-file" | "tls-ticket-keys"
            ) {
                continue;
            }
            let v = value(o);
            let Some(vi) = o.value else { continue };
            if self.present(d, &v, Base::Ca, e, vi + 1) {
                continue;
            }
            remove_opt(e, d, *o, &mut removed);
            ca_gone |= k == "ca-file";
            sign_gone |= k == "ca-sign-file";
        }
        for o in &opts {
            let k = d.args[o.at].as_str();
            let verify_needs_ca = k == "verify" && ca_gone && value(o) != "none";
            let sign_option = matches!(k, "ca-sign-pass" | "generate-certificates") && sign_gone;
            if verify_needs_ca || sign_option {
                remove_opt(e, d, *o, &mut removed);
            }
        }
        if !removed.is_empty() {
            self.removed(d, s, removed.join(" "), "its files are not readable here");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_inside_sample_expressions() {
        assert_eq!(
            embedded_files("%[req.hdr(host),lower,map_dom(/etc/h.map,bk_default)]"),
            ["/etc/h.map"]
        );
        assert_eq!(embedded_files("set-map(/etc/a.map)"), ["/etc/a.map"]);
        assert_eq!(embedded_files("req.hdr(x),map(/m)"), ["/m"]);
        assert!(embedded_files("req.hdr(x),lower").is_empty());
        assert!(embedded_files("bitmap(x)").is_empty());
        assert!(embedded_files("map(virt@name)").is_empty());
    }

    #[test]
    fn relative_paths_follow_default_path() {
        let cwd = PathBuf::from("/work");
        let mut r = PathRules {
            default_path: None,
            crt_base: Some("/etc/ssl/private".into()),
            ca_base: None,
            cwd,
        };
        let cfg = Path::new("/etc/haproxy/haproxy.cfg");
        assert_eq!(
            r.resolve("a.pem", Base::Crt, cfg).unwrap(),
            Path::new("/etc/ssl/private/a.pem")
        );
        assert_eq!(
            r.resolve("m.map", Base::None, cfg).unwrap(),
            Path::new("/work/m.map")
        );
        assert!(!r.relative_moves());
        r.default_path = Some(("config".into(), None));
        assert_eq!(
            r.resolve("m.map", Base::None, cfg).unwrap(),
            Path::new("/etc/haproxy/m.map")
        );
        r.default_path = Some(("parent".into(), None));
        assert_eq!(
            r.resolve("m.map", Base::None, cfg).unwrap(),
            Path::new("/etc/m.map")
        );
        r.default_path = Some(("origin".into(), Some("/srv".into())));
        assert_eq!(
            r.resolve("m.map", Base::None, cfg).unwrap(),
            Path::new("/srv/m.map")
        );
        assert!(r.relative_moves());
        assert_eq!(r.resolve("${X}/m.map", Base::None, cfg), None);
    }

    #[test]
    fn error_responses_are_complete() {
        let r = error_response(503, "/e/503.http");
        assert!(r.starts_with("HTTP/1.0 503 Service Unavailable\r\n"));
        let body = r.split("\r\n\r\n").nth(1).unwrap();
        assert!(r.contains(&format!("Content-Length: {}\r\n", body.len())));
    }
}
