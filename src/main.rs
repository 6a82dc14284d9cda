// Counts heap bytes so a playbook is stopped before it takes the host's
// memory (see harun::mem).
#[global_allocator]
static ALLOC: harun::mem::CountingAlloc = harun::mem::CountingAlloc;

fn main() {
    let code = harun::cli::run();
    harun::cli::exit(code);
}
