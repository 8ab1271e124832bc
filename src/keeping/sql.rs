//! The `backups` and `archives` tables (migration 0011).

use chrono::{DateTime, Utc};

use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Store, StoreError};

/// A backup recorded after its file was written.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BackupRecord {
    pub id: i64,
    pub file_name: String,
    pub directory: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// `command` (by hand) or `job` (periodic).
    pub origin: String,
    pub created_at: DateTime<Utc>,
}

/// An archive recorded after its file was written.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ArchiveRecord {
    pub id: i64,
    pub year: i32,
    pub file_name: String,
    pub directory: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub files: i32,
    pub created_at: DateTime<Utc>,
}

fn backup(r: &AnyRow) -> Result<BackupRecord, StoreError> {
    Ok(BackupRecord {
        id: r.get("id")?,
        file_name: r.get("file_name")?,
        directory: r.get("directory")?,
        size_bytes: r.get("size_bytes")?,
        sha256: r.get("sha256")?,
        origin: r.get("origin")?,
        created_at: r.get("created_at")?,
    })
}

fn archive(r: &AnyRow) -> Result<ArchiveRecord, StoreError> {
    Ok(ArchiveRecord {
        id: r.get("id")?,
        year: r.get("year")?,
        file_name: r.get("file_name")?,
        directory: r.get("directory")?,
        size_bytes: r.get("size_bytes")?,
        sha256: r.get("sha256")?,
        files: r.get("files")?,
        created_at: r.get("created_at")?,
    })
}

const BACKUP_COLUMNS: &str = "id, file_name, directory, size_bytes, sha256, origin, created_at";
const ARCHIVE_COLUMNS: &str = "id, year, file_name, directory, size_bytes, sha256, files, created_at";

pub(crate) async fn record_backup(
    store: &Store,
    file_name: &str,
    directory: &str,
    size_bytes: i64,
    sha256: &str,
    origin: &str,
) -> Result<BackupRecord, StoreError> {
    let mut tx = store.begin().await?;
    let now = store.now().await?;
    let row = sql!(
        fetch_one,
        tx,
        &format!(
            "INSERT INTO backups (file_name, directory, size_bytes, sha256, origin, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {BACKUP_COLUMNS}"
        ),
        file_name,
        directory,
        size_bytes,
        sha256,
        origin,
        now
    )?;
    let record = backup(&row)?;
    tx.commit().await?;
    Ok(record)
}

/// The latest backups, newest first.
pub(crate) async fn recent_backups(store: &Store, limit: i64) -> Result<Vec<BackupRecord>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!("SELECT {BACKUP_COLUMNS} FROM backups ORDER BY created_at DESC, id DESC LIMIT $1"),
        limit
    )?
    .iter()
    .map(backup)
    .collect()
}

pub(crate) async fn record_archive(
    store: &Store,
    year: i32,
    file_name: &str,
    directory: &str,
    size_bytes: i64,
    sha256: &str,
    files: i32,
) -> Result<ArchiveRecord, StoreError> {
    let mut tx = store.begin().await?;
    let now = store.now().await?;
    let row = sql!(
        fetch_one,
        tx,
        &format!(
            "INSERT INTO archives (year, file_name, directory, size_bytes, sha256, files, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {ARCHIVE_COLUMNS}"
        ),
        year,
        file_name,
        directory,
        size_bytes,
        sha256,
        files,
        now
    )?;
    let record = archive(&row)?;
    tx.commit().await?;
    Ok(record)
}

/// The latest archive of each year, newest year first.
pub(crate) async fn latest_archives(store: &Store) -> Result<Vec<ArchiveRecord>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!(
            "SELECT {ARCHIVE_COLUMNS} FROM archives a
             WHERE id = (SELECT MAX(id) FROM archives b WHERE b.year = a.year)
             ORDER BY year DESC"
        )
    )?
    .iter()
    .map(archive)
    .collect()
}

/// An issued invoice or credit note, as an archive names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedDocument {
    pub id: i64,
    pub credit_note: bool,
    pub reference: String,
}

/// The invoices and credit notes issued between `from` and `to` (inclusive),
/// by series and number.
pub(crate) async fn issued_between(
    store: &Store,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<Vec<IssuedDocument>, StoreError> {
    read!(
        fetch_all,
        store,
        "SELECT id, kind, reference FROM invoices
         WHERE status <> 'draft' AND reference IS NOT NULL AND issue_date >= $1 AND issue_date <= $2
         ORDER BY series, number",
        from,
        to
    )?
    .iter()
    .map(|r| {
        Ok(IssuedDocument {
            id: r.get("id")?,
            credit_note: r.get::<String>("kind")? == "credit_note",
            reference: r.get("reference")?,
        })
    })
    .collect()
}

/// The SHA-256 of every imported file a row of `imports` names (its copy is
/// `<data dir>/imports/<sha256>.csv`).
pub(crate) async fn import_digests(store: &Store) -> Result<Vec<String>, StoreError> {
    read!(fetch_all, store, "SELECT DISTINCT sha256 FROM imports ORDER BY sha256")?
        .iter()
        .map(|r| r.get("sha256"))
        .collect()
}

/// What a restored database holds, for the operator to recognise it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Contents {
    pub invoices: i64,
    pub credit_notes: i64,
    pub payments: i64,
    pub book_lines: i64,
}

pub(crate) async fn contents(store: &Store) -> Result<Contents, StoreError> {
    let row = read!(
        fetch_one,
        store,
        "SELECT
            (SELECT COUNT(*) FROM invoices WHERE kind = 'invoice' AND status <> 'draft') AS invoices,
            (SELECT COUNT(*) FROM invoices WHERE kind = 'credit_note' AND status <> 'draft') AS credit_notes,
            (SELECT COUNT(*) FROM payments) AS payments,
            (SELECT COUNT(*) FROM revenue_book) AS book_lines"
    )?;
    Ok(Contents {
        invoices: row.get("invoices")?,
        credit_notes: row.get("credit_notes")?,
        payments: row.get("payments")?,
        book_lines: row.get("book_lines")?,
    })
}
