//! Keeping the books for ten years (C. com. L123-22; LPF L102 B): backups of
//! the whole product, a tested restore, and a yearly archive that proves
//! itself without Comptoir.
//!
//! - [`bundle`]: the one file format of both, a zip whose `manifest.json`
//!   lists every member's SHA-256 (and, for an archive, is signed with the
//!   book's key in `manifest.sig`).
//! - [`backup`] / [`restore`]: the SQLite snapshot (`VACUUM INTO`), the
//!   book's key and the imported files still referenced; on PostgreSQL, the
//!   commands refuse and give the `pg_dump` recipe.
//! - [`retention`]: which backups the periodic job keeps.
//! - [`archive`]: a closed year in one file, and its verification.
//! - [`jobs`]: the periodic backup and the yearly archive.
//! - [`bench`]: `bench-keeping`, their timings on a year of invoices.
//!
//! Above the billing (it reads the book, the invoices and the key); the
//! billing never calls it.

pub mod archive;
pub mod backup;
pub mod bench;
pub mod bundle;
pub mod jobs;
pub mod restore;
pub mod retention;
mod sql;

use std::path::PathBuf;

use crate::billing::seal::SealError;
use crate::billing::BillingError;
use crate::store::StoreError;

/// What keeping can fail with; every message is the operator's (French).
#[derive(Debug, thiserror::Error)]
pub enum KeepingError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: fichier zip illisible ({message})")]
    Zip { path: PathBuf, message: String },
    #[error("{path}: manifeste illisible ({message})")]
    Manifest { path: PathBuf, message: String },
    /// The operator asked for something that cannot be done as asked (a
    /// restore over a live data directory, a backup of PostgreSQL…): the
    /// message says what to do instead.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Billing(#[from] BillingError),
    #[error(transparent)]
    Seal(#[from] SealError),
}

impl KeepingError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> KeepingError {
        let path = path.into();
        move |source| KeepingError::Io { path, source }
    }
}
