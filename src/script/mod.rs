//! The Rhai side: one function builds the sandboxed engine; one file per
//! family of primitives.

mod convert;
pub mod ctx;
pub mod errors;
pub mod facts;
pub mod finding_docs;
mod fns_actions;
pub mod fns_bundle;
mod fns_config;
mod fns_fleet;
mod fns_health;
mod fns_logs;
pub mod fns_probe;
mod fns_report;
mod fns_runtime;
mod fns_system;
pub(crate) mod fns_watch;
pub(crate) mod names;
pub mod params;
pub mod playbooks;
mod replayed;
pub(crate) mod resolver;
mod rolling;
pub(crate) mod row;
pub mod settings;
pub mod vocabulary;

pub use convert::to_json;
pub use ctx::{Catalog, Ctx};

use rhai::{Dynamic, Engine, FuncRegistration, Map, OptimizationLevel};
use std::path::PathBuf;
use std::sync::Arc;

/// A primitive's registration with its signature and doc comment, so `harun
/// doc` and docs/primitives.md come from the engine's own metadata. I/O
/// primitives are volatile: never evaluated at compile time.
pub(crate) fn reg(name: &str, params: &[&str], doc: &str) -> FuncRegistration {
    // Rhai drops the spaces of a type: `int or String` would be documented
    // as `intorString` (`harun doc`, did-you-mean signatures).
    debug_assert!(
        params.iter().all(|p| !p
            .split_once(':')
            .map_or(*p, |(_, t)| t)
            .trim()
            .contains(' ')),
        "{name}: a parameter type with a space: {params:?}"
    );
    let comment: Vec<String> = doc.lines().map(|l| format!("/// {l}")).collect();
    FuncRegistration::new(name)
        .with_params_info(params)
        .with_comments([comment.join("\n")])
        .with_volatility(true)
}

/// Build the engine a playbook runs in: explicit limits (the same in debug
/// and release), no `eval`, strict variables, confined `import`, output and
/// cancellation wired to `ctx`.
pub fn build_engine(ctx: &Arc<Ctx>, base_dir: Option<PathBuf>) -> Engine {
    let mut engine = Engine::new();
    let l = &ctx.settings.limits;
    engine.set_max_operations(l.max_operations);
    engine.set_max_call_levels(l.max_call_levels);
    engine.set_max_expr_depths(l.max_expr_depth, l.max_function_expr_depth);
    engine.set_max_string_size(l.max_string_size);
    engine.set_max_array_size(l.max_array_size);
    engine.set_max_map_size(l.max_map_size);
    engine.set_max_modules(l.max_modules);
    engine.set_strict_variables(true);
    // A key that does not exist is an error, never a silent `()`: a typo
    // must not turn into "0 servers up" during an incident. Writes of new
    // keys still work; `"x" in m` and `m.get("x")` probe optional keys.
    engine.set_fail_on_invalid_map_property(true);
    engine.disable_symbol("eval");
    // Full optimisation may run a constant-argument call at compile time.
    engine.set_optimization_level(OptimizationLevel::Simple);
    engine.set_module_resolver(resolver::ConfinedResolver { base: base_dir });

    let c = ctx.clone();
    let max_heap = l.max_heap_bytes;
    engine.on_progress(move |ops| {
        // The heap every operation (one atomic load): one operation adds at
        // most one value within Rhai's size limits past the bound.
        let over = crate::base::mem::heap_in_use().is_some_and(|h| h > max_heap);
        if !over && ops % 512 != 0 {
            return None;
        }
        let stop = if over {
            Some(crate::base::error::Error::MemoryLimit(max_heap))
        } else {
            c.stop_reason()
        };
        stop.map(|e| {
            let mut m = Map::new();
            m.insert("kind".into(), e.kind().into());
            m.insert("message".into(), e.to_string().into());
            m.insert("exit_code".into(), (e.exit_code() as i64).into());
            Dynamic::from_map(m)
        })
    });
    let c = ctx.clone();
    engine.on_print(move |s| c.print(s));
    let c = ctx.clone();
    engine.on_debug(move |s, src, pos| {
        let at = match (src, pos.line()) {
            (Some(src), Some(l)) => format!("{src}:{l}: "),
            (None, Some(l)) => format!("line {l}: "),
            _ => String::new(),
        };
        c.print(&format!("[debug] {at}{s}"));
    });

    row::register(&mut engine);
    fns_runtime::register(&mut engine, ctx);
    fns_report::register(&mut engine, ctx);
    fns_actions::register(&mut engine, ctx);
    fns_config::register(&mut engine, ctx);
    fns_system::register(&mut engine, ctx);
    fns_health::register(&mut engine, ctx);
    fns_watch::register(&mut engine, ctx);
    fns_bundle::register(&mut engine, ctx);
    fns_probe::register(&mut engine, ctx);
    fns_logs::register(&mut engine, ctx);
    fns_fleet::register(&mut engine, ctx);
    FUNCTION_SIGNATURES.get_or_init(|| {
        // Only signatures registered with parameter names (`reg`): the
        // others read `_: &mut StatRow`, which helps nobody.
        let mut sigs: Vec<String> = engine
            .gen_fn_signatures(false)
            .iter()
            .map(|sig| sig.rsplit_once(" -> ").map_or(sig.as_str(), |(a, _)| a))
            .filter(|sig| !sig.contains("_:") && !sig.contains("&mut"))
            .map(|sig| sig.replace(": map", ": Map").replace(": array", ": Array"))
            .collect();
        sigs.sort_by_key(|s| (s.matches(':').count(), s.clone()));
        sigs
    });
    FUNCTION_NAMES.get_or_init(|| {
        let mut names: Vec<String> = engine
            .gen_fn_signatures(true)
            .iter()
            .filter_map(|sig| sig.split('(').next())
            .map(str::trim)
            .filter(|n| {
                !n.contains('$') && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
            .map(String::from)
            .collect();
        names.sort();
        names.dedup();
        names
    });
    engine
}

/// Every function name a playbook can call (primitives and Rhai's own), for
/// the did-you-mean of an unknown function. The same for every engine.
static FUNCTION_NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

pub(crate) fn function_names() -> &'static [String] {
    FUNCTION_NAMES.get().map(Vec::as_slice).unwrap_or(&[])
}

/// Every signature of harun's own primitives (`drain(server: String, opts:
/// Map)`, without the return type), for "`drain` takes ..." errors.
static FUNCTION_SIGNATURES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

pub(crate) fn signatures_of(name: &str) -> Vec<&'static str> {
    FUNCTION_SIGNATURES
        .get()
        .map(|all| {
            all.iter()
                .filter(|s| s.split('(').next() == Some(name))
                .map(String::as_str)
                .collect()
        })
        .unwrap_or_default()
}
