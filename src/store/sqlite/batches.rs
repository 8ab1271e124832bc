//! Batches on SQLite. Every write runs in a `BEGIN IMMEDIATE` transaction
//! (the caller's), which holds the database's write lock: closers, joiners
//! and sealers of every process take turns.

use std::time::Duration;

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::super::batches::{BatchCallback, BatchRow};
use super::super::types::{millis, JobRow};
use super::super::StoreError;
use super::admin::{decode as decode_job, COLUMNS as JOB_COLUMNS};
use super::{from_ms, opt_from_ms, NOW_MS};

const COLUMNS: &str = "id, callback_kind, callback_args, callback_queue, callback_priority, callback_max_attempts,
    callback_limits, size, created_at, sealed_at, finished_at, callback_job_id";

/// Sealed, not closed, and none of its jobs is waiting or running.
const CLOSABLE: &str = "b.finished_at IS NULL AND b.sealed_at IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM comptoir_jobs j WHERE j.batch_id = b.id
                    AND j.state IN ('available', 'scheduled', 'running', 'retryable'))";

fn decode(r: &SqliteRow) -> Result<BatchRow, StoreError> {
    let args: String = r.try_get("callback_args")?;
    let limits: Option<String> = r.try_get("callback_limits")?;
    Ok(BatchRow {
        id: r.try_get("id")?,
        callback: BatchCallback {
            kind: r.try_get("callback_kind")?,
            args: serde_json::from_str(&args)?,
            queue: r.try_get("callback_queue")?,
            priority: r.try_get("callback_priority")?,
            max_attempts: r.try_get("callback_max_attempts")?,
            limits: limits.as_deref().map(serde_json::from_str).transpose()?,
        },
        size: r.try_get("size")?,
        created_at: from_ms(r.try_get("created_at")?)?,
        sealed_at: opt_from_ms(r.try_get("sealed_at")?)?,
        finished_at: opt_from_ms(r.try_get("finished_at")?)?,
        callback_job_id: r.try_get("callback_job_id")?,
    })
}

pub(crate) async fn insert(c: &mut SqliteConnection, cb: &BatchCallback) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO comptoir_batches
             (callback_kind, callback_args, callback_queue, callback_priority, callback_max_attempts, callback_limits)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&cb.kind)
    .bind(cb.args.to_string())
    .bind(&cb.queue)
    .bind(cb.priority)
    .bind(cb.max_attempts)
    .bind(cb.limits.as_ref().map(|l| l.to_string()))
    .fetch_one(c)
    .await?)
}

pub(crate) async fn set_callback(c: &mut SqliteConnection, id: i64, cb: &BatchCallback) -> Result<(), StoreError> {
    let n = sqlx::query(
        "UPDATE comptoir_batches SET callback_kind = ?, callback_args = ?, callback_queue = ?,
             callback_priority = ?, callback_max_attempts = ?, callback_limits = ?
         WHERE id = ? AND finished_at IS NULL",
    )
    .bind(&cb.kind)
    .bind(cb.args.to_string())
    .bind(&cb.queue)
    .bind(cb.priority)
    .bind(cb.max_attempts)
    .bind(cb.limits.as_ref().map(|l| l.to_string()))
    .bind(id)
    .execute(c)
    .await?
    .rows_affected();
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

pub(crate) async fn join(c: &mut SqliteConnection, id: i64, ids: &[i64]) -> Result<u64, StoreError> {
    let sealed: Option<bool> = sqlx::query_scalar("SELECT sealed_at IS NOT NULL FROM comptoir_batches WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *c)
        .await?;
    match sealed {
        None => return Err(StoreError::NotFound),
        Some(true) => {
            return Err(StoreError::Conflict(format!(
                "batch {id} is sealed: no job joins it any more"
            )))
        }
        Some(false) => {}
    }
    if ids.is_empty() {
        return Ok(0);
    }
    let list = serde_json::to_string(ids)?;
    let joined = sqlx::query(
        "UPDATE comptoir_jobs SET batch_id = ?
         WHERE id IN (SELECT value FROM json_each(?)) AND batch_id IS NULL",
    )
    .bind(id)
    .bind(list)
    .execute(&mut *c)
    .await?
    .rows_affected();
    sqlx::query("UPDATE comptoir_batches SET size = size + ? WHERE id = ?")
        .bind(joined as i64)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(joined)
}

pub(crate) async fn seal(c: &mut SqliteConnection, id: i64) -> Result<(), StoreError> {
    let found: Option<i64> = sqlx::query_scalar(&format!(
        "UPDATE comptoir_batches SET sealed_at = coalesce(sealed_at, {NOW_MS}) WHERE id = ? RETURNING id"
    ))
    .bind(id)
    .fetch_optional(c)
    .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound)
}

pub(crate) async fn lock_closable(c: &mut SqliteConnection, limit: i64) -> Result<Vec<BatchRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM comptoir_batches b WHERE {CLOSABLE} ORDER BY b.id LIMIT ?"
    ))
    .bind(limit)
    .fetch_all(c)
    .await?;
    rows.iter().map(decode).collect()
}

pub(crate) async fn close(c: &mut SqliteConnection, id: i64, callback_job_id: Option<i64>) -> Result<(), StoreError> {
    let n = sqlx::query(&format!(
        "UPDATE comptoir_batches SET finished_at = {NOW_MS}, callback_job_id = ?
         WHERE id = ? AND finished_at IS NULL AND sealed_at IS NOT NULL"
    ))
    .bind(callback_job_id)
    .bind(id)
    .execute(c)
    .await?
    .rows_affected();
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!("batch {id} is closed already")))
    }
}

pub(crate) async fn has_closable(pool: &SqlitePool) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT EXISTS (SELECT 1 FROM comptoir_batches b WHERE {CLOSABLE})"
    ))
    .fetch_one(pool)
    .await?)
}

pub(crate) async fn get(pool: &SqlitePool, id: i64) -> Result<BatchRow, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM comptoir_batches WHERE id = ?"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound)?;
    decode(&row)
}

pub(crate) async fn jobs(pool: &SqlitePool, id: i64) -> Result<Vec<JobRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {JOB_COLUMNS} FROM comptoir_jobs WHERE batch_id = ? ORDER BY id"
    ))
    .bind(id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(decode_job).collect()
}

pub(crate) async fn of_job(pool: &SqlitePool, job_id: i64) -> Result<Option<i64>, StoreError> {
    let batch: Option<Option<i64>> = sqlx::query_scalar("SELECT batch_id FROM comptoir_jobs WHERE id = ?")
        .bind(job_id)
        .fetch_optional(pool)
        .await?;
    Ok(batch.flatten())
}

pub(crate) async fn with_callback(pool: &SqlitePool, job_id: i64) -> Result<Option<BatchRow>, StoreError> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM comptoir_batches WHERE callback_job_id = ?"
    ))
    .bind(job_id)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(decode)
    .transpose()
}

pub(crate) async fn prune(writer: &SqlitePool, older_than: Duration, limit: i64) -> Result<u64, StoreError> {
    let res = sqlx::query(&format!(
        "DELETE FROM comptoir_batches WHERE id IN (
             SELECT b.id FROM comptoir_batches b
             WHERE b.finished_at < {NOW_MS} - ?
               AND NOT EXISTS (SELECT 1 FROM comptoir_jobs j WHERE j.batch_id = b.id)
               AND NOT EXISTS (SELECT 1 FROM comptoir_jobs j WHERE j.id = b.callback_job_id)
             LIMIT ?)"
    ))
    .bind(millis(older_than))
    .bind(limit)
    .execute(writer)
    .await?;
    Ok(res.rows_affected())
}
