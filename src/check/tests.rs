use super::*;

fn checker() -> Checker {
    Checker::new().expect("checker")
}

const HEAD: &str = "//! A test playbook.\n";

/// (code, line, col, message) of each problem in `body` (after a header line).
fn problems(body: &str) -> Vec<Problem> {
    checker().check_source("t.rhai", &format!("{HEAD}{body}"), None)
}

fn codes(ps: &[Problem]) -> Vec<(&'static str, usize, usize)> {
    ps.iter()
        .map(|p| (p.code.as_str(), p.line, p.col))
        .collect()
}

#[test]
fn every_shipped_playbook_checks_clean() {
    let c = checker();
    for p in crate::script::playbooks::SHIPPED {
        let problems = c.check_source(&format!("{}.rhai", p.name), p.source, None);
        assert!(problems.is_empty(), "{}: {problems:#?}", p.name);
        // Not clean by accident: the walk sees the calls.
        let ast = c.engine.compile(p.source).expect("compiles");
        let calls = facts::collect(&ast).calls;
        assert!(calls.len() > 5, "{}: {} calls", p.name, calls.len());
    }
}

#[test]
fn the_catalog_is_the_runtime_engine() {
    let c = checker();
    let cat = c.catalog();
    for (name, n) in [
        ("stat", 0),
        ("drain", 2),
        ("param", 1),
        ("param", 2),
        ("len", 1),
    ] {
        assert!(cat.get(name).is_some_and(|a| a.accepts(n)), "{name}/{n}");
    }
    assert!(
        cat.signatures("drain")
            .iter()
            .any(|s| s == "drain(server: String, opts: Map)"),
        "{:?}",
        cat.signatures("drain")
    );
    // Rhai's own functions are there too.
    assert_eq!(cat.signatures("sort")[0], "sort(array: Array)");
}

#[test]
fn syntax_error_with_its_position() {
    let ps = problems("let x = 1;\nlet y = (x + ;\n");
    assert_eq!(codes(&ps), vec![("syntax", 3, 14)], "{ps:#?}");
    assert_eq!(ps[0].source_line.as_deref(), Some("let y = (x + ;"));
    assert_eq!(ps[0].severity, Level::Error);
}

#[test]
fn undefined_variable_is_caught_at_compile_time() {
    let ps = problems("let servers_up = 1;\nprint(server_up);\n");
    assert_eq!(codes(&ps), vec![("undefined-variable", 3, 7)], "{ps:#?}");
    assert!(ps[0].message.contains("`server_up`"), "{}", ps[0].message);
}

#[test]
fn unknown_function_with_did_you_mean() {
    let ps = problems("let s = servrs();\nlet t = frobnicate_everything(1);\n");
    assert_eq!(
        codes(&ps),
        vec![("unknown-function", 2, 9), ("unknown-function", 3, 9)],
        "{ps:#?}"
    );
    assert_eq!(
        ps[0].message,
        "no function `servrs`; did you mean `servers`?"
    );
    assert_eq!(ps[0].suggestion.as_deref(), Some("servers"));
    assert_eq!(ps[1].message, "no function `frobnicate_everything`");
    assert_eq!(ps[1].suggestion, None);
}

#[test]
fn unknown_method_and_script_functions_as_candidates() {
    let ps = problems("fn count_down(rows) { rows.len() }\nlet r = stat();\nr.fliter(|x| x.a == 1);\ncount_donw(r);\n");
    assert_eq!(
        codes(&ps),
        vec![("unknown-function", 4, 3), ("unknown-function", 5, 1)],
        "{ps:#?}"
    );
    assert_eq!(ps[0].message, "no method `fliter`; did you mean `filter`?");
    assert_eq!(ps[1].suggestion.as_deref(), Some("count_down"));
}

#[test]
fn wrong_number_of_arguments() {
    let ps = problems(
        "let x = stat(1, 2, 3, 4, 5);\nlet a = [1].push(1, 2);\nfn two(a, b) { a + b }\ntwo(1);\n",
    );
    assert_eq!(
        codes(&ps),
        vec![
            ("wrong-arity", 2, 9),
            ("wrong-arity", 3, 13),
            ("wrong-arity", 5, 1)
        ],
        "{ps:#?}"
    );
    assert!(
        ps[0].message.starts_with("`stat` takes "),
        "{}",
        ps[0].message
    );
    assert!(ps[0].message.ends_with(", not 5"), "{}", ps[0].message);
    assert!(ps[0]
        .suggestion
        .as_deref()
        .unwrap_or_default()
        .contains("stat("));
    assert!(ps[0].help);
    assert_eq!(
        ps[1].message,
        "`push` takes 2 arguments (the value before the `.` counts as the first), not 3"
    );
    assert_eq!(ps[2].message, "`two` takes 2 arguments, not 1");
}

#[test]
fn no_false_positive_on_rhai_idioms() {
    let src = r#"
let rows = [#{ a: 1 }, #{ a: 2 }];
let n = rows.len;
let m = rows[0];
m.a = 3;
let f = |x| x + n;
let g = Fn("double");
fn double(x) { x * 2 }
fn add(y) { this + y }
let k = 1.add(2);
print(f.call(1)); print(call(f, 2)); print(g.call(3));
let h = f.curry(1);
debug(type_of(m)); print(m.type_of()); print();
if is_def_var("n") && is_def_fn("double", 1) { print(is_shared(n)); }
let obj = #{ v: 1, bump: |d| this.v + d };
print(obj.bump(2));
let s = `${n} rows`;
if "a" in m { print(m.get("a")); }
let r = rows.filter(|x| x.a > 1).map(|x| x.a);
for (x, i) in rows { print(i); }
switch n { 1 => print(1), _ => {} }
try { throw "x"; } catch (e) { print(e); }
let e = -n; let b = !true; n += 1;
double(2).to_string();
rows.sort(|x, y| x.a - y.a);
let arr = [1, 2]; arr.drain(|v| v > 5); arr.drain(0, 1); arr += 3;
fn meth(d) { this + d }
2.meth(1);
for i in range(0, 3) { print(i); }
do { n -= 1; } while n > 0;
let t = timestamp(); print(t.elapsed);
print(parse_int("1") + abs(-1) + max(1, 2));
"#;
    let ps = problems(src);
    assert!(ps.is_empty(), "{ps:#?}");
}

#[test]
fn params_against_the_header() {
    let src = "//! Drain.\n//! @param server!     which server\n//! @param timeout=120  seconds\n//! @param unused       nothing reads it\nlet s = param(\"server\");\nlet t = param(\"timout\", 5);\nlet v = param(\"verbose\", false);\n";
    let ps = checker().check_source("t.rhai", src, None);
    assert_eq!(
        codes(&ps),
        vec![
            ("unused-param", 3, 12),
            ("unused-param", 4, 12),
            ("undeclared-param", 6, 15),
            ("undeclared-param", 7, 15)
        ],
        "{ps:#?}"
    );
    assert_eq!(ps[0].severity, Level::Warning);
    assert_eq!(
        ps[2].message,
        "parameter `timout` is not declared in the header; did you mean `timeout`?"
    );
    assert_eq!(ps[2].suggestion.as_deref(), Some("timeout"));
    assert!(
        ps[3].message.contains("`harun t --help`"),
        "{}",
        ps[3].message
    );
    assert_eq!(
        ps[3].suggestion.as_deref(),
        Some("//! @param verbose  <what it does>")
    );
}

#[test]
fn a_computed_param_name_may_read_any_parameter() {
    let src = "//! P.\n//! @param a  one\n//! @param b  two\nfor k in [\"a\", \"b\"] { print(param(k, \"\")); }\n";
    let ps = checker().check_source("t.rhai", src, None);
    assert!(ps.is_empty(), "{ps:#?}");
}

#[test]
fn missing_description() {
    let ps = checker().check_source("t.rhai", "// just a comment\nprint(1);\n", None);
    assert_eq!(codes(&ps), vec![("missing-description", 1, 1)], "{ps:#?}");
    let ps = checker().check_source("t.rhai", "//! @param x  only params\nparam(\"x\");\n", None);
    assert_eq!(codes(&ps), vec![("missing-description", 1, 1)], "{ps:#?}");
}

#[test]
fn imports_resolve_like_the_runtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("helpers.rhai"),
        "//! Helpers.\nfn up(rows) { rows.len() }\nprivate fn secret() { 1 }\nlet p = param(\"shared\", 1);\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("broken.rhai"), "fn (").expect("write");
    let src = "//! Uses helpers.\n//! @param shared  read by the helper module\nimport \"helpers\" as h;\nimport \"helpres\" as x;\nimport \"../etc/passwd\" as y;\nimport \"broken\" as z;\nimport \"snapshot\" as s;\nh::up([]);\nh::up(1, 2);\nh::upp([]);\nh::secret();\nup([]);\n";
    let ps = checker().check_source("t.rhai", src, Some(dir.path()));
    assert_eq!(
        codes(&ps),
        vec![
            ("unresolved-import", 4, 8),
            ("unresolved-import", 5, 8),
            ("unresolved-import", 6, 8),
            ("wrong-arity", 9, 4),
            ("unknown-function", 10, 4),
            ("unknown-function", 11, 4),
            ("unknown-function", 12, 1),
        ],
        "{ps:#?}"
    );
    assert!(
        ps[0].message.ends_with("did you mean `helpers`?"),
        "{}",
        ps[0].message
    );
    assert!(
        ps[1].message.contains("no absolute path, no `..`"),
        "{}",
        ps[1].message
    );
    assert!(
        ps[2].message.contains("broken.rhai:1:"),
        "{}",
        ps[2].message
    );
    assert_eq!(ps[4].suggestion.as_deref(), Some("h::up"));
    assert!(
        ps[5].message.starts_with("`secret` is private"),
        "{}",
        ps[5].message
    );
    assert_eq!(ps[6].message, "no function `up`; did you mean `h::up`?");
}

#[test]
fn module_alias_never_imported() {
    let ps = problems("lib::f(1);\n");
    assert_eq!(codes(&ps), vec![("unresolved-import", 2, 1)], "{ps:#?}");
}

#[test]
fn param_lines_are_found_in_the_header() {
    let src = "//! D.\n//!   @param  a!=1   x\n//! @param b\nlet x = 1;\n//! @param c\n";
    assert_eq!(param_line(src, "a"), Some((2, 15)));
    assert_eq!(param_line(src, "b"), Some((3, 12)));
    assert_eq!(param_line(src, "c"), None, "after the header");
}

#[test]
fn paths_files_and_directories() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = dir.path().join("team");
    std::fs::create_dir_all(sub.join(".git")).expect("mkdir");
    std::fs::write(sub.join("b.rhai"), "").expect("write");
    std::fs::write(sub.join(".git").join("x.rhai"), "").expect("write");
    std::fs::write(dir.path().join("a.rhai"), "").expect("write");
    std::fs::write(dir.path().join("notes.txt"), "").expect("write");
    let files = playbook_files(&[dir.path().to_path_buf()]).expect("files");
    assert_eq!(files, vec![dir.path().join("a.rhai"), sub.join("b.rhai")]);
    let missing = dir.path().join("nope");
    let e = playbook_files(&[missing]).unwrap_err().to_string();
    assert!(e.contains("nope: no such file or directory"), "{e}");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let e = playbook_files(&[empty]).unwrap_err().to_string();
    assert!(
        e.contains("empty: no playbook (*.rhai) in this directory"),
        "{e}"
    );
    std::fs::write(dir.path().join("bin.rhai"), [0xff, 0xfe, 0x00]).expect("write");
    let e = crate::script::playbooks::read_text(&dir.path().join("bin.rhai"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a text file (invalid UTF-8)"), "{e}");
}

#[test]
fn a_mistyped_key_is_found_in_a_branch_that_never_ran() {
    let ps = problems(
        "let s = servers(\"bk\");\nif s.len() > 100 {\n    print(s[0].weigth + stat()[0].qcurr);\n    print(info().CurConns);\n}\n",
    );
    assert_eq!(
        codes(&ps),
        vec![
            ("unknown-property", 4, 16),
            ("unknown-property", 4, 35),
            ("unknown-property", 5, 18),
        ],
        "{ps:#?}"
    );
    assert!(
        ps[0].message.contains("did you mean `weight`?"),
        "{}",
        ps[0].message
    );
    assert_eq!(ps[1].suggestion.as_deref(), Some("qcur"));
    // Two keys one edit away: both named.
    assert!(
        ps[2]
            .message
            .contains("did you mean `CumConns` or `CurrConns`?"),
        "{}",
        ps[2].message
    );
    assert_eq!(ps[0].severity, Level::Error);
}

#[test]
fn keys_that_exist_somewhere_are_not_typos() {
    let ps = problems(concat!(
        // The playbook's own maps, by literal, assignment or string key.
        "let m = #{ count: 1 };\nm.extra = 2;\nm[\"made\"] = 3;\n",
        "print(m.count + m.extra + m.made);\n",
        // HAProxy's columns of any supported version and stats module, and
        // 2.6's own misspelt `show info` key.
        "let r = stat()[0];\nprint(r.h2_headers_rcvd + r.sess_other + r.agg_check_status);\n",
        "print(info().TotalSplicdedBytesOut);\n",
        // Computed properties, harun's documented keys, a caught error.
        "print(Fn(\"print\").name + timestamp().elapsed);\n",
        "print(servers()[0].in_rotation);\n",
        "try { stat(\"x\") } catch (e) { print(e.kind + e.message) }\n",
        // A map keyed by the data's own names (servers, hosts): a name with
        // a digit that no near key has is not a typo of `server`.
        "let by = #{}; for s in servers() { by[s.server] = s; }\nprint(by.server1.weight + by.web02.weight);\n",
        // Unlike every known key: perhaps a column of a build harun has not
        // seen; left to the run, which says so at the line.
        "print(r.zz_brand_new_column);\n",
    ));
    assert!(ps.is_empty(), "{ps:#?}");
}

#[test]
fn keys_of_maps_from_modules_of_modules_or_from_json_are_not_typos() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("inner.rhai"),
        "//! Inner.\nfn make() { #{ hosts: [\"a\"] } }\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("outer.rhai"),
        "//! Outer.\nimport \"inner\" as i;\nfn get() { i::make() }\n",
    )
    .expect("write");
    // `hosts` is one edit from harun's `host`: given by a module the
    // imported one imports.
    let src = format!("{HEAD}import \"outer\" as o;\nprint(o::get().hosts);\n");
    let ps = checker().check_source("t.rhai", &src, Some(dir.path()));
    assert!(ps.is_empty(), "{ps:#?}");
    // Keys of a JSON document are the document's, whatever they are.
    let ps = problems("let inv = parse_json(\"{}\");\nprint(inv.hosts + inv.statuses);\n");
    assert!(ps.is_empty(), "{ps:#?}");
    // Still found where no such map is around.
    let ps = problems("print(servers()[0].weigth);\n");
    assert_eq!(codes(&ps), vec![("unknown-property", 2, 20)], "{ps:#?}");
}

#[test]
fn response_header_names_are_keys_harun_returns() {
    // `date` is one edit from `rate`, `link` from `line`, `etag` from `tag`.
    let ps = problems(
        "let h = http_probe(\"http://127.0.0.1:1/\").headers;\nprint(h.date + h.link + h.etag + h.vary);\n",
    );
    assert!(ps.is_empty(), "{ps:#?}");
}
