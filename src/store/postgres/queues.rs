//! Paused queues on PostgreSQL. Resuming notifies [`super::CHANNEL`] in the
//! same statement: every listening worker process hears it at commit.

use sqlx::{PgConnection, PgExecutor, Row};

use super::super::queues::QueueInfo;
use super::super::StoreError;

pub(crate) async fn pause(conn: &mut PgConnection, name: &str, by: &str) -> Result<bool, StoreError> {
    let changed = sqlx::query(
        "INSERT INTO comptoir_queues (name, paused, paused_at, paused_by, updated_at)
         VALUES ($1, true, now(), $2, now())
         ON CONFLICT (name) DO UPDATE
            SET paused = true, paused_at = now(), paused_by = EXCLUDED.paused_by, updated_at = now()
          WHERE NOT comptoir_queues.paused
         RETURNING name",
    )
    .bind(name)
    .bind(by)
    .fetch_optional(conn)
    .await?;
    Ok(changed.is_some())
}

pub(crate) async fn resume(conn: &mut PgConnection, name: &str) -> Result<bool, StoreError> {
    let changed = sqlx::query(
        "WITH resumed AS (
             UPDATE comptoir_queues
                SET paused = false, paused_at = NULL, paused_by = NULL, updated_at = now()
              WHERE name = $1 AND paused
             RETURNING name)
         SELECT name, pg_notify($2, name) FROM resumed",
    )
    .bind(name)
    .bind(super::CHANNEL)
    .fetch_optional(conn)
    .await?;
    Ok(changed.is_some())
}

/// Every queue with unfinished jobs or a row, or only `only`. Waiting jobs
/// are counted from the claim's partial index, running ones are few: the
/// finished jobs are never read.
pub(crate) async fn list<'e>(ex: impl PgExecutor<'e>, only: Option<&str>) -> Result<Vec<QueueInfo>, StoreError> {
    let rows = sqlx::query(
        "WITH j AS (
             SELECT queue AS name,
                    count(*) FILTER (WHERE state <> 'running') AS waiting,
                    count(*) FILTER (WHERE state = 'running') AS running
               FROM comptoir_jobs
              WHERE state IN ('available', 'scheduled', 'retryable', 'running')
                AND ($1::text IS NULL OR queue = $1)
              GROUP BY queue),
         n AS (SELECT name FROM j
               UNION SELECT name FROM comptoir_queues WHERE $1::text IS NULL OR name = $1)
         SELECT n.name, coalesce(q.paused, false) AS paused, q.paused_at, q.paused_by,
                coalesce(j.waiting, 0) AS waiting, coalesce(j.running, 0) AS running
           FROM n
           LEFT JOIN j ON j.name = n.name
           LEFT JOIN comptoir_queues q ON q.name = n.name
          ORDER BY n.name COLLATE \"C\"",
    )
    .bind(only)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(QueueInfo {
                name: r.try_get("name")?,
                paused: r.try_get("paused")?,
                paused_at: r.try_get("paused_at")?,
                paused_by: r.try_get("paused_by")?,
                waiting: r.try_get("waiting")?,
                running: r.try_get("running")?,
            })
        })
        .collect()
}
