use chrono::{DateTime, Utc};

use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Store, StoreError, Tx};

/// A generated document kept for download.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredDocument {
    pub id: i64,
    pub kind: String,
    pub period_key: String,
    pub format: String,
    pub filename: String,
    /// Empty when listed ([`list`] leaves the bytes in the database).
    #[serde(skip)]
    pub content: Vec<u8>,
    /// The content's length in bytes.
    pub size: i64,
    pub sha256: String,
    pub job_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, kind, period_key, format, filename, content, CAST(LENGTH(content) AS BIGINT) AS size, sha256, job_id,
    created_at";
const LISTED: &str =
    "id, kind, period_key, format, filename, CAST(LENGTH(content) AS BIGINT) AS size, sha256, job_id, created_at";

fn decode(r: &AnyRow) -> Result<StoredDocument, StoreError> {
    Ok(StoredDocument {
        content: r.get("content")?,
        ..decode_listed(r)?
    })
}

fn decode_listed(r: &AnyRow) -> Result<StoredDocument, StoreError> {
    let size: Option<i64> = r.get("size")?;
    Ok(StoredDocument {
        id: r.get("id")?,
        kind: r.get("kind")?,
        period_key: r.get("period_key")?,
        format: r.get("format")?,
        filename: r.get("filename")?,
        content: Vec::new(),
        size: size.unwrap_or(0),
        sha256: r.get("sha256")?,
        job_id: r.get("job_id")?,
        created_at: r.get("created_at")?,
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert(
    tx: &mut Tx,
    kind: &str,
    period_key: &str,
    format: &str,
    filename: &str,
    content: &[u8],
    sha256: &str,
    job_id: Option<i64>,
) -> Result<i64, StoreError> {
    sql!(
        fetch_one,
        tx,
        "INSERT INTO documents (kind, period_key, format, filename, content, sha256, job_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        kind,
        period_key,
        format,
        filename,
        content,
        sha256,
        job_id,
        Utc::now()
    )?
    .get("id")
}

pub(crate) async fn get(store: &Store, id: i64) -> Result<Option<StoredDocument>, StoreError> {
    read!(
        fetch_optional,
        store,
        &format!("SELECT {COLUMNS} FROM documents WHERE id = $1"),
        id
    )?
    .as_ref()
    .map(decode)
    .transpose()
}

/// The newest document of a kind, period and format.
pub(crate) async fn latest(
    store: &Store,
    kind: &str,
    period_key: &str,
    format: &str,
) -> Result<Option<StoredDocument>, StoreError> {
    read!(
        fetch_optional,
        store,
        &format!(
            "SELECT {COLUMNS} FROM documents WHERE kind = $1 AND period_key = $2 AND format = $3
             ORDER BY id DESC LIMIT 1"
        ),
        kind,
        period_key,
        format
    )?
    .as_ref()
    .map(decode)
    .transpose()
}

/// The documents of a kind and period, newest first, without their bytes.
pub(crate) async fn list(
    store: &Store,
    kind: &str,
    period_key: &str,
    limit: i64,
) -> Result<Vec<StoredDocument>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!("SELECT {LISTED} FROM documents WHERE kind = $1 AND period_key = $2 ORDER BY id DESC LIMIT $3"),
        kind,
        period_key,
        limit.clamp(1, 500)
    )?
    .iter()
    .map(decode_listed)
    .collect()
}
