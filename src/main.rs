// Counts heap bytes so a playbook is stopped before it takes the host's
// memory (see harun::base::mem).
#[global_allocator]
static ALLOC: harun::base::mem::CountingAlloc = harun::base::mem::CountingAlloc;

fn main() {
    let code = harun::cli::run();
    harun::cli::exit(code);
}
