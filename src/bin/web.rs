//! `comptoir-web`: see `comptoir::cli::web`.

fn main() -> std::process::ExitCode {
    comptoir::cli::web::main()
}
