//! `sqlx::migrate!` (src/store/migrate.rs) embeds the files of migrations/
//! when the crate compiles; a new file does not change any Rust source, so
//! tell Cargo to rebuild when the directory changes (what
//! `sqlx migrate build-script` writes).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
