fn main() {
    let code = harun::cli::run();
    harun::cli::exit(code);
}
