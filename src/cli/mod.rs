//! Command lines of the binaries. The binaries only call `main` here.

pub mod billing;
pub mod jobs;
pub mod keeping;
pub mod web;
mod web_admin;
pub mod worker;

/// Exit codes shared by the commands (also in the README).
pub mod exit {
    /// Everything ran and succeeded.
    pub const OK: u8 = 0;
    /// Some job that ran failed (drain), or a command was refused.
    pub const JOBS_FAILED: u8 = 1;
    /// Bad usage (clap also uses 2).
    pub const USAGE: u8 = 2;
    /// The database or the configuration is not usable.
    pub const UNAVAILABLE: u8 = 3;
    /// Another drain holds the lock (EX_TEMPFAIL): try again later.
    pub const ALREADY_RUNNING: u8 = 75;
}

/// `store` with the livre de recettes' signing key attached: the one
/// `COMPTOIR_BOOK_KEY` names, else the data directory's (created on first
/// start). Refuses a key that is not the book's (a second machine with a
/// key of its own), saying how to fix it.
pub(crate) async fn with_book_key(
    store: crate::store::Store,
    config: &crate::config::Config,
) -> anyhow::Result<crate::store::Store> {
    use crate::billing::seal::{self, KeyOrigin};
    use anyhow::Context;
    let (sealed, origin) = seal::open(&store, &config.data_dir)
        .await
        .context("livre de recettes signing key")?;
    if let KeyOrigin::Created(path) = origin {
        tracing::warn!(
            path = %path.display(),
            "created the key that signs the livre de recettes: comptoir-worker backup keeps it with the database (without it, new receipts cannot be signed)"
        );
    }
    Ok(sealed)
}
