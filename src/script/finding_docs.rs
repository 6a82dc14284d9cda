//! Every finding harun's own checks report, gathered from the modules that
//! report them: docs/findings.md (`harun doc --findings`) is written from
//! it, and `harun test` reads its ids (a test may name any of them).

use crate::base::report::Severity;

/// One finding id harun reports, with its documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuiltinFinding {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    pub meaning: &'static str,
    pub fix: &'static str,
}

/// All of them, sorted by id.
pub fn all() -> Vec<BuiltinFinding> {
    let mut out: Vec<BuiltinFinding> = crate::config::rule_docs()
        .iter()
        .map(|d| (d.id, d.severity, d.title, d.meaning, d.fix))
        .chain(
            crate::system::finding_docs()
                .iter()
                .chain(crate::diagnose::health::finding_docs())
                .chain(crate::diagnose::findings::finding_docs())
                .chain(super::fns_bundle::finding_docs())
                .chain(super::fns_probe::finding_docs())
                .chain(crate::logs::findings::finding_docs())
                .map(|d| (d.id, d.severity, d.title, d.meaning, d.fix)),
        )
        .map(|(id, severity, title, meaning, fix)| BuiltinFinding {
            id,
            severity,
            title,
            meaning,
            fix,
        })
        .collect();
    out.sort_by_key(|f| f.id);
    out
}

/// The finding ids a playbook can report: harun's own, the literal ids of
/// its `finding()` calls and those of the modules it imports (looked up as
/// a run looks them up, from `dir`). None when one is computed, or when the
/// playbook or a module does not compile: then nobody can tell.
pub fn reportable_ids(
    text: &str,
    dir: Option<&std::path::Path>,
) -> Option<std::collections::BTreeSet<String>> {
    let mut ids: std::collections::BTreeSet<String> =
        all().iter().map(|f| f.id.to_string()).collect();
    let engine = rhai::Engine::new_raw();
    let facts = super::facts::collect(&engine.compile(text).ok()?);
    let modules = super::facts::imported(&engine, &facts.imports, dir);
    for f in std::iter::once(Some(facts)).chain(modules) {
        for id in f?.finding_ids {
            ids.insert(id?);
        }
    }
    Some(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_harun_s_and_the_playbook_s_literals() {
        let ids = reportable_ids("finding(\"ok\", \"team.fine\", \"t\");", None).unwrap();
        assert!(ids.contains("team.fine") && ids.contains("servers.down"));
        assert!(!ids.contains("team.other"));
        // A computed id: any id may come.
        assert_eq!(
            reportable_ids("let n = 1; finding(\"ok\", `t.${n}`, \"t\");", None),
            None
        );
        // A module's literals count, the module's modules' too.
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("a.rhai"),
            "import \"b\" as b;\nfn f() { finding(\"ok\", \"mod.a\", \"t\") }",
        )
        .unwrap();
        std::fs::write(
            d.path().join("b.rhai"),
            "import \"a\" as a;\nfn g() { finding(\"ok\", \"mod.b\", \"t\") }",
        )
        .unwrap();
        let ids = reportable_ids("import \"a\" as a;", Some(d.path())).unwrap();
        assert!(ids.contains("mod.a") && ids.contains("mod.b"));
        // One that does not resolve: nobody can tell.
        assert_eq!(reportable_ids("import \"zz\" as z;", Some(d.path())), None);
    }
}
