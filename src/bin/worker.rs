//! `comptoir-worker`: see `comptoir::cli::worker`.

fn main() -> std::process::ExitCode {
    comptoir::cli::worker::main()
}
