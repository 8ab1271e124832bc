//! A closed year in one file an accountant or an inspector can take away and
//! check without Comptoir: every invoice and credit note of the year (its
//! Factur-X PDF and CII XML), the livre de recettes (lines, totals, PDF and
//! seal, as the book's export makes them), the year's closures, the audit log
//! of the year, and a manifest of every file's SHA-256 signed with the book's
//! key ([`super::bundle`]).

use std::path::{Path, PathBuf};

use super::bundle::{Finding, Written};
use super::KeepingError;
use crate::billing::seal::PublicKey;
use crate::store::Store;

/// The manifest's `format`.
pub const FORMAT: &str = "comptoir-archive/1";

/// `comptoir-archive-2026.zip`.
pub fn file_name(year: i32) -> String {
    format!("comptoir-archive-{year}.zip")
}

/// Makes the archive of `year` in `dir` (replacing an earlier file of that
/// year), and records it. Refuses a year that is not closed yet (its year
/// closure does not exist), or a book that fails verification.
pub async fn make(store: &Store, year: i32, dir: &Path) -> Result<Written, KeepingError> {
    let _ = (store, year, dir);
    unimplemented!("issue 17: archive")
}

/// What checking an archive found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ArchiveCheck {
    pub path: PathBuf,
    pub year: Option<i32>,
    pub files: usize,
    /// The fingerprint of the key that signed the manifest.
    pub key_fingerprint: Option<String>,
    /// Whether that key was the one expected (given, or the data
    /// directory's), rather than only the one the manifest names.
    pub key_pinned: bool,
    pub findings: Vec<Finding>,
}

impl ArchiveCheck {
    pub fn is_intact(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Checks the archive at `path` alone, without the database: every file
/// against the manifest, the manifest's signature, and what the files can
/// prove of themselves. With `expected`, the manifest must be that key's.
pub fn verify(path: &Path, expected: Option<&PublicKey>) -> Result<ArchiveCheck, KeepingError> {
    let _ = (path, expected);
    unimplemented!("issue 17: archive verify")
}

/// Makes the archive of every ended year whose year closure exists and that
/// has no archive recorded yet (or whose file is gone); returns those made.
pub async fn make_due(store: &Store, dir: &Path) -> Result<Vec<Written>, KeepingError> {
    let _ = (store, dir);
    unimplemented!("issue 17: archive job")
}
