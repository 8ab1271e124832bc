//! CSV imports and the keys that make each imported row count once.
//! Chunk statements take a variable number of values (`IN ($1, $2, …)`,
//! multi-row `VALUES`), bound one by one (`store::sql::Bind`).

use chrono::Utc;

use crate::billing::import::{Import, ImportKind, ImportStatus, StoredNote};
use crate::store::sql::{execute_binds, fetch_all_binds, placeholders, read, sql, AnyRow, Bind};
use crate::store::{Store, StoreError, Tx};

const COLUMNS: &str = "id, kind, filename, sha256, status, total_rows, imported_rows, skipped_rows, errors, job_id,
    created_at, finished_at";

/// Row counts as stored on the import.
pub(crate) struct Counts {
    pub total: i64,
    pub imported: i64,
    pub skipped: i64,
}

fn decode(r: &AnyRow) -> Result<Import, StoreError> {
    let notes: Vec<StoredNote> = r.json("errors")?;
    Ok(decode_summary(r)?.with_notes(notes))
}

/// An import without its notes (rows listed in the report).
fn decode_summary(r: &AnyRow) -> Result<Import, StoreError> {
    let kind: String = r.get("kind")?;
    let status: String = r.get("status")?;
    Ok(Import {
        id: r.get("id")?,
        kind: ImportKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("import kind {kind:?}")))?,
        filename: r.get("filename")?,
        sha256: r.get("sha256")?,
        status: ImportStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("import status {status:?}")))?,
        total_rows: r.get("total_rows")?,
        imported_rows: r.get("imported_rows")?,
        skipped_rows: r.get("skipped_rows")?,
        errors: Vec::new(),
        skips: Vec::new(),
        failure: None,
        job_id: r.get("job_id")?,
        created_at: r.get("created_at")?,
        finished_at: r.get("finished_at")?,
    })
}

pub(crate) async fn insert(tx: &mut Tx, kind: ImportKind, filename: &str, sha256: &str) -> Result<Import, StoreError> {
    let row = sql!(
        fetch_one,
        tx,
        &format!(
            "INSERT INTO imports (kind, filename, sha256, status, created_at)
             VALUES ($1, $2, $3, 'pending', $4) RETURNING {COLUMNS}"
        ),
        kind.as_str(),
        filename,
        sha256,
        Utc::now()
    )?;
    decode(&row)
}

pub(crate) async fn set_job(tx: &mut Tx, id: i64, job_id: i64) -> Result<(), StoreError> {
    match sql!(execute, tx, "UPDATE imports SET job_id = $1 WHERE id = $2", job_id, id)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub(crate) async fn get(store: &Store, id: i64) -> Result<Option<Import>, StoreError> {
    read!(
        fetch_optional,
        store,
        &format!("SELECT {COLUMNS} FROM imports WHERE id = $1"),
        id
    )?
    .as_ref()
    .map(decode)
    .transpose()
}

/// Imports, newest first, without their notes; keyset-paginated by id.
pub(crate) async fn list(store: &Store, before_id: Option<i64>, limit: i64) -> Result<Vec<Import>, StoreError> {
    read!(
        fetch_all,
        store,
        "SELECT id, kind, filename, sha256, status, total_rows, imported_rows, skipped_rows, job_id, created_at,
             finished_at
         FROM imports WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
        before_id,
        limit.clamp(1, 500)
    )?
    .iter()
    .map(decode_summary)
    .collect()
}

/// Marks the import running, its counts and notes reset (a run recounts everything).
pub(crate) async fn start(store: &Store, id: i64) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    sql!(
        execute,
        tx,
        "UPDATE imports SET status = 'running', total_rows = 0, imported_rows = 0, skipped_rows = 0,
             errors = '[]', finished_at = NULL
         WHERE id = $1",
        id
    )?;
    tx.commit().await
}

pub(crate) async fn set_counts(tx: &mut Tx, id: i64, c: &Counts) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE imports SET total_rows = $1, imported_rows = $2, skipped_rows = $3 WHERE id = $4",
        c.total,
        c.imported,
        c.skipped,
        id
    )?;
    Ok(())
}

pub(crate) async fn finish(
    store: &Store,
    id: i64,
    status: ImportStatus,
    c: &Counts,
    notes: &[StoredNote],
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    sql!(
        execute,
        tx,
        "UPDATE imports SET status = $1, total_rows = $2, imported_rows = $3, skipped_rows = $4, errors = $5,
             finished_at = $6
         WHERE id = $7",
        status.as_str(),
        c.total,
        c.imported,
        c.skipped,
        sqlx::types::Json(serde_json::to_value(notes)?),
        Utc::now(),
        id
    )?;
    tx.commit().await
}

/// Whether an import other than `import_id` that did not fail holds the file
/// of content `sha256` (files are kept by content). Until `tx` ends no import
/// can be registered: on PostgreSQL the table is locked against inserts, on
/// SQLite the transaction holds the write lock already. So a file is never
/// deleted under an upload of the same content being registered.
pub(crate) async fn file_held_by_others(tx: &mut Tx, import_id: i64, sha256: &str) -> Result<bool, StoreError> {
    sql!(postgres_only, tx, "LOCK TABLE imports IN SHARE ROW EXCLUSIVE MODE")?;
    let row = sql!(
        fetch_one,
        tx,
        "SELECT COUNT(*) AS n FROM imports WHERE sha256 = $1 AND id <> $2 AND status <> 'failed'",
        sha256,
        import_id
    )?;
    Ok(row.get::<i64>("n")? > 0)
}

async fn execute_values(tx: &mut Tx, text: &str, values: &[Bind<'_>]) -> Result<u64, StoreError> {
    execute_binds(tx, text, values).await
}

/// `(text, integer)` pairs selected with `WHERE … IN (<the keys>)`.
async fn pairs_in(tx: &mut Tx, text: &str, keys: &[&str]) -> Result<Vec<(String, i64)>, StoreError> {
    let binds: Vec<Bind<'_>> = keys.iter().map(|k| Bind::Text(k)).collect();
    let rows = fetch_all_binds(tx, text, &binds).await?;
    rows.iter().map(|r| Ok((r.get("k")?, r.get("v")?))).collect()
}

/// Which of `keys` are recorded, and by which import.
pub(crate) async fn key_holders(tx: &mut Tx, keys: &[&str]) -> Result<Vec<(String, i64)>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let text = format!(
        "SELECT key AS k, import_id AS v FROM import_keys WHERE key IN ({})",
        placeholders(1, keys.len())
    );
    pairs_in(tx, &text, keys).await
}

/// Records `(key, entity id)` pairs for `import_id`; a key already recorded is
/// left alone. Returns how many were recorded.
pub(crate) async fn insert_keys(
    tx: &mut Tx,
    entity: &str,
    import_id: i64,
    keys: &[(String, i64)],
) -> Result<u64, StoreError> {
    if keys.is_empty() {
        return Ok(0);
    }
    let rows: Vec<String> = (0..keys.len())
        .map(|i| format!("(${}, $1, ${}, $2)", 3 + 2 * i, 4 + 2 * i))
        .collect();
    let text = format!(
        "INSERT INTO import_keys (key, entity, entity_id, import_id) VALUES {} ON CONFLICT (key) DO NOTHING",
        rows.join(", ")
    );
    let mut values = vec![Bind::Text(entity), Bind::Int(import_id)];
    for (key, id) in keys {
        values.push(Bind::Text(key));
        values.push(Bind::Int(*id));
    }
    execute_values(tx, &text, &values).await
}

/// Customers already holding one of `sirens` (the oldest for each).
pub(crate) async fn customers_by_siren(tx: &mut Tx, sirens: &[&str]) -> Result<Vec<(String, i64)>, StoreError> {
    let text = format!(
        "SELECT siren AS k, MIN(id) AS v FROM customers WHERE siren IN ({}) GROUP BY siren",
        placeholders(1, sirens.len())
    );
    pairs_in(tx, &text, sirens).await
}
