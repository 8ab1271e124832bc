//! Batches on PostgreSQL. A closer locks the batch rows it closes with
//! `FOR UPDATE SKIP LOCKED`: two closers never close the same batch, and a
//! row closed meanwhile is re-read (`finished_at` set) and left out.

use std::time::Duration;

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

// The store's pool (safe behind PgBouncer in transaction mode), under sqlx's name.
use super::pool::Pool as PgPool;

use super::super::batches::{BatchCallback, BatchRow};
use super::super::types::{millis, JobRow};
use super::super::StoreError;
use super::admin::{decode as decode_job, COLUMNS as JOB_COLUMNS};

const COLUMNS: &str = "id, callback_kind, callback_args, callback_queue, callback_priority, callback_max_attempts,
    callback_limits, size, created_at, sealed_at, finished_at, callback_job_id";

/// Sealed, not closed, and none of its jobs is waiting or running.
const CLOSABLE: &str = "b.finished_at IS NULL AND b.sealed_at IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM comptoir_jobs j WHERE j.batch_id = b.id
                    AND j.state IN ('available', 'scheduled', 'running', 'retryable'))";

fn decode(r: &PgRow) -> Result<BatchRow, StoreError> {
    Ok(BatchRow {
        id: r.try_get("id")?,
        callback: BatchCallback {
            kind: r.try_get("callback_kind")?,
            args: r.try_get("callback_args")?,
            queue: r.try_get("callback_queue")?,
            priority: r.try_get("callback_priority")?,
            max_attempts: r.try_get("callback_max_attempts")?,
            limits: r.try_get("callback_limits")?,
        },
        size: i64::from(r.try_get::<i32, _>("size")?),
        created_at: r.try_get("created_at")?,
        sealed_at: r.try_get("sealed_at")?,
        finished_at: r.try_get("finished_at")?,
        callback_job_id: r.try_get("callback_job_id")?,
    })
}

pub(crate) async fn insert(c: &mut PgConnection, cb: &BatchCallback) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO comptoir_batches
             (callback_kind, callback_args, callback_queue, callback_priority, callback_max_attempts, callback_limits)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(&cb.kind)
    .bind(&cb.args)
    .bind(&cb.queue)
    .bind(cb.priority)
    .bind(cb.max_attempts)
    .bind(&cb.limits)
    .fetch_one(c)
    .await?)
}

pub(crate) async fn set_callback(c: &mut PgConnection, id: i64, cb: &BatchCallback) -> Result<(), StoreError> {
    let n = sqlx::query(
        "UPDATE comptoir_batches SET callback_kind = $2, callback_args = $3, callback_queue = $4,
             callback_priority = $5, callback_max_attempts = $6, callback_limits = $7
         WHERE id = $1 AND finished_at IS NULL",
    )
    .bind(id)
    .bind(&cb.kind)
    .bind(&cb.args)
    .bind(&cb.queue)
    .bind(cb.priority)
    .bind(cb.max_attempts)
    .bind(&cb.limits)
    .execute(c)
    .await?
    .rows_affected();
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

pub(crate) async fn join(c: &mut PgConnection, id: i64, ids: &[i64]) -> Result<u64, StoreError> {
    let sealed: Option<bool> =
        sqlx::query_scalar("SELECT sealed_at IS NOT NULL FROM comptoir_batches WHERE id = $1 FOR UPDATE")
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
    let joined = sqlx::query("UPDATE comptoir_jobs SET batch_id = $1 WHERE id = ANY($2) AND batch_id IS NULL")
        .bind(id)
        .bind(ids)
        .execute(&mut *c)
        .await?
        .rows_affected();
    sqlx::query("UPDATE comptoir_batches SET size = size + $2 WHERE id = $1")
        .bind(id)
        .bind(joined as i32)
        .execute(&mut *c)
        .await?;
    Ok(joined)
}

pub(crate) async fn seal(c: &mut PgConnection, id: i64) -> Result<(), StoreError> {
    let found: Option<i64> = sqlx::query_scalar(
        "UPDATE comptoir_batches SET sealed_at = coalesce(sealed_at, now()) WHERE id = $1 RETURNING id",
    )
    .bind(id)
    .fetch_optional(c)
    .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound)
}

pub(crate) async fn lock_closable(c: &mut PgConnection, limit: i64) -> Result<Vec<BatchRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM comptoir_batches b WHERE {CLOSABLE}
         ORDER BY b.id LIMIT $1 FOR UPDATE SKIP LOCKED"
    ))
    .bind(limit)
    .fetch_all(c)
    .await?;
    rows.iter().map(decode).collect()
}

pub(crate) async fn close(c: &mut PgConnection, id: i64, callback_job_id: Option<i64>) -> Result<(), StoreError> {
    let n = sqlx::query(
        "UPDATE comptoir_batches SET finished_at = now(), callback_job_id = $2
         WHERE id = $1 AND finished_at IS NULL AND sealed_at IS NOT NULL",
    )
    .bind(id)
    .bind(callback_job_id)
    .execute(c)
    .await?
    .rows_affected();
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!("batch {id} is closed already")))
    }
}

pub(crate) async fn has_closable(pool: &PgPool) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT EXISTS (SELECT 1 FROM comptoir_batches b WHERE {CLOSABLE})"
    ))
    .fetch_one(pool)
    .await?)
}

pub(crate) async fn get(pool: &PgPool, id: i64) -> Result<BatchRow, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM comptoir_batches WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound)?;
    decode(&row)
}

pub(crate) async fn jobs(pool: &PgPool, id: i64) -> Result<Vec<JobRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {JOB_COLUMNS} FROM comptoir_jobs WHERE batch_id = $1 ORDER BY id"
    ))
    .bind(id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(decode_job).collect()
}

pub(crate) async fn of_job(pool: &PgPool, job_id: i64) -> Result<Option<i64>, StoreError> {
    let batch: Option<Option<i64>> = sqlx::query_scalar("SELECT batch_id FROM comptoir_jobs WHERE id = $1")
        .bind(job_id)
        .fetch_optional(pool)
        .await?;
    Ok(batch.flatten())
}

pub(crate) async fn with_callback(pool: &PgPool, job_id: i64) -> Result<Option<BatchRow>, StoreError> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM comptoir_batches WHERE callback_job_id = $1"
    ))
    .bind(job_id)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(decode)
    .transpose()
}

pub(crate) async fn prune(pool: &PgPool, older_than: Duration, limit: i64) -> Result<u64, StoreError> {
    let res = sqlx::query(
        "DELETE FROM comptoir_batches WHERE id IN (
             SELECT b.id FROM comptoir_batches b
             WHERE b.finished_at < now() - $1 * interval '1 millisecond'
               AND NOT EXISTS (SELECT 1 FROM comptoir_jobs j WHERE j.batch_id = b.id)
               AND NOT EXISTS (SELECT 1 FROM comptoir_jobs j WHERE j.id = b.callback_job_id)
             LIMIT $2)",
    )
    .bind(millis(older_than))
    .bind(limit)
    .execute(pool)
    .await?;
    Ok(res.rows_affected())
}
