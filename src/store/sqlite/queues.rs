//! Paused queues on SQLite. Times are integer milliseconds by SQLite's
//! clock; resuming wakes this process's workers at commit (other processes
//! see it at their next poll).

use sqlx::{Row, SqliteConnection, SqliteExecutor};

use super::super::queues::QueueInfo;
use super::super::StoreError;
use super::{opt_from_ms, NOW_MS};

pub(crate) async fn pause(conn: &mut SqliteConnection, name: &str, by: &str) -> Result<bool, StoreError> {
    let changed = sqlx::query(&format!(
        "INSERT INTO comptoir_queues (name, paused, paused_at, paused_by, updated_at)
         VALUES (?1, 1, {NOW_MS}, ?2, {NOW_MS})
         ON CONFLICT (name) DO UPDATE
            SET paused = 1, paused_at = excluded.paused_at, paused_by = excluded.paused_by,
                updated_at = excluded.updated_at
          WHERE comptoir_queues.paused = 0
         RETURNING name"
    ))
    .bind(name)
    .bind(by)
    .fetch_optional(conn)
    .await?;
    Ok(changed.is_some())
}

pub(crate) async fn resume(conn: &mut SqliteConnection, name: &str) -> Result<bool, StoreError> {
    let changed = sqlx::query(&format!(
        "UPDATE comptoir_queues
            SET paused = 0, paused_at = NULL, paused_by = NULL, updated_at = {NOW_MS}
          WHERE name = ?1 AND paused = 1
         RETURNING name"
    ))
    .bind(name)
    .fetch_optional(conn)
    .await?;
    Ok(changed.is_some())
}

/// Every queue with unfinished jobs or a row, or only `only`. Waiting jobs
/// are counted from the claim's partial index, running ones are few: the
/// finished jobs are never read.
pub(crate) async fn list<'e>(ex: impl SqliteExecutor<'e>, only: Option<&str>) -> Result<Vec<QueueInfo>, StoreError> {
    let rows = sqlx::query(
        "WITH j AS (
             SELECT queue AS name,
                    sum(state <> 'running') AS waiting,
                    sum(state = 'running') AS running
               FROM comptoir_jobs
              WHERE state IN ('available', 'scheduled', 'retryable', 'running')
                AND (?1 IS NULL OR queue = ?1)
              GROUP BY queue),
         n AS (SELECT name FROM j
               UNION SELECT name FROM comptoir_queues WHERE ?1 IS NULL OR name = ?1)
         SELECT n.name AS name, coalesce(q.paused, 0) AS paused, q.paused_at AS paused_at,
                q.paused_by AS paused_by, coalesce(j.waiting, 0) AS waiting, coalesce(j.running, 0) AS running
           FROM n
           LEFT JOIN j ON j.name = n.name
           LEFT JOIN comptoir_queues q ON q.name = n.name
          ORDER BY n.name",
    )
    .bind(only)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            let paused: i64 = r.try_get("paused")?;
            Ok(QueueInfo {
                name: r.try_get("name")?,
                paused: paused != 0,
                paused_at: opt_from_ms(r.try_get("paused_at")?)?,
                paused_by: r.try_get("paused_by")?,
                waiting: r.try_get("waiting")?,
                running: r.try_get("running")?,
            })
        })
        .collect()
}
