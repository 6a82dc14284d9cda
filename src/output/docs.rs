//! Reference documentation generated from the code itself.

use crate::runner::Runner;
use crate::script::vocabulary::{self, Shape};
use serde_json::Value;

/// (name, signature, doc) for every harun primitive, from the engine's metadata.
pub fn primitives() -> Vec<(String, String, String)> {
    let runner = match Runner::builder().build() {
        Ok(r) => r,
        Err(_) => return Vec::new(),
    };
    let engine = runner.engine(None);
    let json = engine.gen_fn_metadata_to_json(false).unwrap_or_default();
    let v: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
    let mut out = Vec::new();
    if let Some(fns) = v.get("functions").and_then(Value::as_array) {
        for f in fns {
            let comments: Vec<String> = f
                .get("docComments")
                .and_then(Value::as_array)
                .map(|c| {
                    c.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            if comments.is_empty() {
                continue; // Rhai's own functions carry no harun doc.
            }
            let name = f
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let sig = f
                .get("signature")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let doc = comments
                .join("\n")
                .lines()
                .map(|l| {
                    l.trim_start()
                        .trim_start_matches("///")
                        .trim_start_matches(' ')
                        .to_string()
                })
                .collect::<Vec<_>>()
                .join("\n");
            out.push((name, sig, doc));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    out
}

/// One primitive with all its overloads: `drain(server)`, `drain(server,
/// opts)`, `drain(servers)`... are one entry with one text.
pub struct Primitive {
    pub name: String,
    pub signatures: Vec<String>,
    /// The distinct doc texts of the overloads, in signature order.
    pub docs: Vec<String>,
}

/// Every primitive, overloads grouped, sorted by name.
pub fn grouped() -> Vec<Primitive> {
    let mut out: Vec<Primitive> = Vec::new();
    for (name, sig, doc) in primitives() {
        match out.last_mut() {
            Some(p) if p.name == name => {
                p.signatures.push(sig);
                // Overloads repeat the base text and add a line or two: keep
                // only what an earlier overload did not already say.
                let said: Vec<&str> = p.docs.iter().flat_map(|d| d.lines()).collect();
                let new: Vec<&str> = doc.lines().filter(|l| !said.contains(l)).collect();
                if !new.is_empty() {
                    p.docs.push(new.join("\n"));
                }
            }
            _ => out.push(Primitive {
                name,
                signatures: vec![sig],
                docs: vec![doc],
            }),
        }
    }
    out
}

/// A shape and the maps nested in it, in the order `harun doc` prints them:
/// (label, shape), the label naming where the map sits (`sections[]` for
/// each map of an array, `sections[].directives[]` deeper, `*` for every
/// value of an open map; empty for the shape itself). Depth first; a shape
/// is printed once, under every key of its parent that holds it.
fn shape_tree(top: &'static Shape) -> Vec<(String, &'static Shape)> {
    fn walk(path: &str, parent: &'static Shape, out: &mut Vec<(String, &'static Shape)>) {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}.")
        };
        // (paths, shape), keys holding the same shape grouped.
        let mut children: Vec<(Vec<String>, &'static Shape)> = Vec::new();
        for n in vocabulary::nested_in(parent) {
            if out.iter().any(|(_, s)| s.what == n.shape.what) {
                continue;
            }
            let array = parent
                .keys
                .iter()
                .find(|k| k.name == n.key)
                .is_some_and(|k| k.ty.starts_with("array"));
            let here = match (n.key, array) {
                ("*", _) => format!("{prefix}*"),
                (key, true) => format!("{prefix}{key}[]"),
                (key, false) => format!("{prefix}{key}"),
            };
            match children.iter_mut().find(|(_, s)| s.what == n.shape.what) {
                Some((paths, _)) => paths.push(here),
                None => children.push((vec![here], n.shape)),
            }
        }
        for (paths, shape) in children {
            if out.iter().any(|(_, s)| s.what == shape.what) {
                continue;
            }
            let label = paths
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push((label, shape));
            walk(&paths[0], shape, out);
        }
    }
    let mut out = vec![(String::new(), top)];
    walk("", top, &mut out);
    out
}

/// The keys a primitive returns, as text lines (`  op_state  string  ...`),
/// then the keys of the maps nested in them.
fn keys_text(name: &str) -> String {
    let Some(top) = vocabulary::shape_of(name) else {
        return String::new();
    };
    let mut out = String::new();
    for (label, shape) in shape_tree(top) {
        let lead = if label.is_empty() {
            format!("    Returns {}", shape.what)
        } else {
            format!("    {label}: {}", shape.what)
        };
        out.push_str(&lead);
        if shape.keys.is_empty() {
            match shape.open {
                Some(open) => out.push_str(&format!(": {open}\n")),
                None => out.push_str(".\n"),
            }
            continue;
        }
        out.push_str(" with these keys:\n");
        let w = shape.keys.iter().map(|k| k.name.len()).max().unwrap_or(0);
        let tw = shape.keys.iter().map(|k| k.ty.len()).max().unwrap_or(0);
        for k in shape.keys {
            out.push_str(&format!(
                "      {:w$}  {:tw$}  {}\n",
                k.name, k.ty, k.meaning
            ));
        }
        if let Some(open) = shape.open {
            out.push_str(&format!("      and {open}\n"));
        }
    }
    out
}

/// `harun doc [NAME]`: one entry per primitive, its overloads listed, its
/// text once, then the keys it returns.
pub fn primitives_text(name: Option<&str>) -> Option<String> {
    let mut out = String::new();
    for p in grouped() {
        if name.is_some_and(|want| want != p.name) {
            continue;
        }
        for sig in &p.signatures {
            out.push_str(sig);
            out.push('\n');
        }
        for doc in &p.docs {
            for l in doc.lines() {
                out.push_str("    ");
                out.push_str(l);
                out.push('\n');
            }
        }
        out.push_str(&keys_text(&p.name));
        out.push('\n');
    }
    (!out.is_empty()).then_some(out)
}

/// docs/primitives.md.
pub fn primitives_markdown() -> Option<String> {
    let mut out = String::from(
        "# Playbook primitives\n\n<!-- Generated by `harun doc --markdown`; a test fails when this file is stale. -->\n\n\
         Reading a key that a value does not have is an error (with the nearest keys); \
         `m.get(\"x\")` and `\"x\" in m` read optional keys.\n\n",
    );
    for p in grouped() {
        out.push_str(&format!("### `{}`\n\n```text\n", p.name));
        for sig in &p.signatures {
            out.push_str(sig);
            out.push('\n');
        }
        out.push_str("```\n\n");
        for doc in &p.docs {
            out.push_str(doc);
            out.push_str("\n\n");
        }
        let Some(top) = vocabulary::shape_of(&p.name) else {
            continue;
        };
        for (label, shape) in shape_tree(top) {
            if label.is_empty() {
                out.push_str(&format!("Returns {}", shape.what));
            } else {
                out.push_str(&format!("{label}: {}", shape.what));
            }
            if shape.keys.is_empty() {
                match shape.open {
                    Some(open) => out.push_str(&format!(": {open}.\n\n")),
                    None => out.push_str(".\n\n"),
                }
                continue;
            }
            out.push_str(":\n\n| key | type | meaning |\n|---|---|---|\n");
            for k in shape.keys {
                out.push_str(&format!("| `{}` | {} | {} |\n", k.name, k.ty, k.meaning));
            }
            out.push('\n');
            if let Some(open) = shape.open {
                out.push_str(&format!("Also {open}.\n\n"));
            }
        }
    }
    Some(out)
}

/// (id, severity, title, meaning, fix) of every finding id harun's own code
/// and its shipped playbooks emit: lint rules, probes, health checks, playbooks.
pub fn findings() -> Vec<(String, String, String, String, String)> {
    crate::script::finding_docs::all()
        .into_iter()
        .map(|f| {
            (
                f.id.to_string(),
                f.severity.to_string(),
                f.title.to_string(),
                f.meaning.to_string(),
                f.fix.to_string(),
            )
        })
        .collect()
}

/// docs/findings.md.
pub fn findings_markdown() -> String {
    let mut out = String::from(
        "# Finding ids\n\n<!-- Generated by `harun doc --findings`; a test fails when this file is stale. -->\n\n\
         Every finding has a stable id, a default severity (some findings are capped at `warning` \
         when the directive sits inside an `.if` block, or raised/lowered with the HAProxy version), \
         what it means and the fix. Error and critical findings make a run exit 1.\n\n\
         | id | severity | title |\n|---|---|---|\n",
    );
    let all = findings();
    for (id, sev, title, _, _) in &all {
        out.push_str(&format!(
            "| [`{id}`](#{}) | {sev} | {title} |\n",
            anchor(id)
        ));
    }
    out.push('\n');
    for (id, sev, title, meaning, fix) in &all {
        out.push_str(&format!(
            "## {id}\n\n**{sev}**: {title}\n\n**Meaning.** {meaning}\n\n**Fix.** {fix}\n\n"
        ));
    }
    out
}

/// The anchor GitHub gives the `## id` heading.
fn anchor(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect::<String>()
        .to_ascii_lowercase()
}

/// docs/report.schema.json: the JSON Schema of `harun --json` output.
pub fn report_schema() -> String {
    let schema = schemars::schema_for!(crate::base::report::Report);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn check_fresh(rel: &str, want: &str, regen: &str) {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
        let have = std::fs::read_to_string(&p).unwrap_or_default();
        assert!(have == want, "{rel} is stale: regenerate it with `{regen}`");
    }

    #[test]
    fn findings_md_is_fresh() {
        check_fresh(
            "docs/findings.md",
            &super::findings_markdown(),
            "cargo run -- doc --findings > docs/findings.md",
        );
    }

    #[test]
    fn primitives_md_is_fresh() {
        check_fresh(
            "docs/primitives.md",
            &super::primitives_markdown().unwrap_or_default(),
            "cargo run -- doc --markdown > docs/primitives.md",
        );
    }

    #[test]
    fn report_schema_is_fresh() {
        check_fresh(
            "docs/report.schema.json",
            &super::report_schema(),
            "cargo run -- doc --schema > docs/report.schema.json",
        );
    }

    #[test]
    fn finding_ids_are_unique() {
        let all = super::findings();
        let mut ids: Vec<_> = all.iter().map(|f| f.0.as_str()).collect();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "a finding id is documented twice");
    }

    // What the shipped playbooks raise is what the docs list.

    /// Ids a playbook raises: `finding("severity", "id", ...)` with a literal id.
    fn raised(source: &str) -> Vec<&str> {
        source
            .match_indices("finding(")
            .filter_map(|(i, _)| source[i..].split('"').nth(3))
            .filter(|id| id.contains('.') && !id.contains('$'))
            .collect()
    }

    /// The finding tables kept next to one playbook's primitives list exactly
    /// what that playbook raises.
    #[test]
    fn playbook_finding_tables_match_their_playbook() {
        for (playbook, prefix, docs) in [
            (
                "snapshot",
                "snapshot.",
                crate::script::fns_bundle::finding_docs(),
            ),
            (
                "trace_header",
                "trace.",
                crate::script::fns_probe::finding_docs(),
            ),
        ] {
            let source = crate::script::playbooks::shipped(playbook).unwrap().source;
            let ids = raised(source);
            for d in docs {
                assert!(d.id.starts_with(prefix), "{}", d.id);
                assert!(
                    ids.contains(&d.id),
                    "{} is documented but {playbook} never raises it",
                    d.id
                );
            }
        }
    }

    /// Every `finding("severity", "id", ...)` in a shipped playbook is documented.
    #[test]
    fn shipped_playbook_findings_are_documented() {
        let documented: Vec<String> = crate::output::docs::findings()
            .into_iter()
            .map(|f| f.0)
            .collect();
        for p in crate::script::playbooks::SHIPPED {
            for id in raised(p.source) {
                assert!(
                    documented.iter().any(|d| d == id),
                    "playbook {} raises `{id}`, which docs/findings.md does not document (add it to src/diagnose/findings.rs)",
                    p.name
                );
            }
        }
    }

    /// Primitives whose result is typed `?`/Map/Array in the engine but is no
    /// map of harun's: nothing to document key by key.
    const NO_MAP: &[&str] = &[
        // The type of its `default` argument (int, float, bool or string).
        "param",
        // An array of host names (strings).
        "check_hosts",
    ];

    /// `harun doc NAME` lists the keys of everything that returns a map.
    #[test]
    fn every_primitive_returning_a_map_has_a_shape() {
        let all = super::grouped();
        assert!(all.len() > 30, "engine metadata not read");
        for p in &all {
            let maps = p.signatures.iter().any(|sig| {
                let ret = sig.rsplit("-> ").next().unwrap_or("");
                sig.contains("-> ") && ["Map", "Array", "?"].contains(&ret.trim())
            });
            let shaped = crate::script::vocabulary::shape_of(&p.name).is_some();
            if NO_MAP.contains(&p.name.as_str()) {
                assert!(!shaped, "{} has a shape: take it off NO_MAP", p.name);
            } else if maps {
                assert!(
                    shaped,
                    "`{}` returns a map or an array ({}) but has no shape in script/vocabulary.rs",
                    p.name,
                    p.signatures.join(", ")
                );
            }
        }
        // And no shape names a primitive that does not exist.
        for s in crate::script::vocabulary::all_shapes() {
            for name in s.primitives {
                assert!(
                    all.iter().any(|p| p.name == *name),
                    "{} names `{name}`, which is not registered",
                    s.what
                );
            }
        }
    }

    /// docs/architecture.md names every top-level module of the crate.
    #[test]
    fn architecture_names_every_module() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
        let map = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
        for m in lib.lines().filter_map(|l| l.strip_prefix("pub mod ")) {
            let m = m.trim_end_matches(';');
            let named = map.contains(&format!("`{m}/`")) || map.contains(&format!("`{m}.rs`"));
            assert!(named, "docs/architecture.md does not describe `{m}`");
        }
    }
}
