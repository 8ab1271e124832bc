//! What the dashboard and `/metrics` read on SQLite: attempts per hour,
//! failed attempts, the oldest waiting job. Times are integer milliseconds;
//! an error's `at` is RFC 3339 text, read with `unixepoch(…, 'subsec')`.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::super::types::{HourlyAttempts, JobRow};
use super::super::StoreError;
use super::admin::{decode, COLUMNS};
use super::{SqliteStore, NOW_MS};

/// Every entry of the `errors` arrays of jobs touched since `?1`, with its
/// time in ms. A row's `updated_at` moves with every error appended to it, so
/// older rows are skipped without expanding their arrays.
const ERRORS_SINCE: &str = "SELECT CAST(unixepoch(json_extract(e.value, '$.at'), 'subsec') * 1000 AS INTEGER) AS at
    FROM comptoir_jobs AS j, json_each(j.errors) AS e
    WHERE j.updated_at >= ?1";

pub(crate) async fn attempts_per_hour(
    s: &SqliteStore,
    since: DateTime<Utc>,
) -> Result<Vec<HourlyAttempts>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT hour, sum(completed) AS completed, sum(failed) AS failed FROM (
             SELECT finished_at / 3600000 AS hour, count(*) AS completed, 0 AS failed
             FROM comptoir_jobs WHERE state = 'completed' AND finished_at >= ?1 GROUP BY 1
             UNION ALL
             SELECT at / 3600000, 0, count(*)
             FROM ({ERRORS_SINCE}) WHERE at >= ?1 GROUP BY 1
         ) GROUP BY hour ORDER BY hour"
    ))
    .bind(since.timestamp_millis())
    .fetch_all(&s.reader)
    .await?;
    rows.iter()
        .map(|r| {
            let hour: i64 = r.try_get("hour")?;
            Ok(HourlyAttempts {
                hour: DateTime::from_timestamp(hour * 3600, 0)
                    .ok_or_else(|| StoreError::Corrupt(format!("hour {hour} out of range")))?,
                completed: r.try_get("completed")?,
                failed: r.try_get("failed")?,
            })
        })
        .collect()
}

pub(crate) async fn failed_attempts_since(s: &SqliteStore, since: DateTime<Utc>) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar(&format!("SELECT count(*) FROM ({ERRORS_SINCE}) WHERE at >= ?1"))
            .bind(since.timestamp_millis())
            .fetch_one(&s.reader)
            .await?,
    )
}

/// The due job (not running) that has waited longest.
pub(crate) async fn oldest_waiting(s: &SqliteStore) -> Result<Option<JobRow>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM comptoir_jobs
         WHERE state IN ('available', 'scheduled', 'retryable') AND run_at <= {NOW_MS}
         ORDER BY run_at, id LIMIT 1"
    ))
    .fetch_optional(&s.reader)
    .await?;
    row.as_ref().map(decode).transpose()
}

/// The jobs that failed last: retryable ones by `updated_at`, discarded ones
/// by `finished_at` (each side reads its index), newest first.
pub(crate) async fn recent_failures(s: &SqliteStore, limit: i64) -> Result<Vec<JobRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT * FROM (
             SELECT * FROM (SELECT {COLUMNS} FROM comptoir_jobs WHERE state = 'retryable'
                            ORDER BY updated_at DESC LIMIT ?1)
             UNION ALL
             SELECT * FROM (SELECT {COLUMNS} FROM comptoir_jobs WHERE state = 'discarded'
                            ORDER BY finished_at DESC LIMIT ?1)
         ) ORDER BY updated_at DESC, id DESC LIMIT ?1"
    ))
    .bind(limit)
    .fetch_all(&s.reader)
    .await?;
    rows.iter().map(decode).collect()
}
