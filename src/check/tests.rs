use super::*;

fn checker() -> Checker {
    Checker::new().expect("checker")
}

#[test]
fn every_shipped_playbook_checks_clean() {
    let c = checker();
    for p in crate::playbooks::SHIPPED {
        let problems = c.check_source(&format!("{}.rhai", p.name), p.source, None);
        assert!(problems.is_empty(), "{}: {problems:#?}", p.name);
    }
}
