//! `comptoir_kinds` on SQLite (see `store::kinds`).

use sqlx::{Row, SqliteConnection};

use super::super::kinds::{JobSummary, KindColumns, KindDefaults, LIST};
use super::super::types::millis;
use super::super::StoreError;
use super::{from_ms, SqliteStore, NOW_MS};

pub(crate) async fn publish(s: &SqliteStore, kinds: &[KindDefaults]) -> Result<(), StoreError> {
    let mut tx = s.writer.begin_with("BEGIN IMMEDIATE").await?;
    for k in kinds {
        let (c_name, c_pointer) = k.concurrency.as_ref().map_or((None, None), |c| c.key.columns());
        let (r_name, r_pointer) = k.rate.as_ref().map_or((None, None), |r| r.key.columns());
        sqlx::query(&format!(
            "INSERT INTO comptoir_kinds (kind, queue, priority, max_attempts,
                 concurrency_name, concurrency_pointer, concurrency_limit,
                 rate_name, rate_pointer, rate_limit, rate_period_ms, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, {NOW_MS})
             ON CONFLICT (kind) DO UPDATE SET
                 queue = excluded.queue, priority = excluded.priority, max_attempts = excluded.max_attempts,
                 concurrency_name = excluded.concurrency_name, concurrency_pointer = excluded.concurrency_pointer,
                 concurrency_limit = excluded.concurrency_limit, rate_name = excluded.rate_name,
                 rate_pointer = excluded.rate_pointer, rate_limit = excluded.rate_limit,
                 rate_period_ms = excluded.rate_period_ms, updated_at = excluded.updated_at
             WHERE queue IS NOT excluded.queue OR priority IS NOT excluded.priority
                OR max_attempts IS NOT excluded.max_attempts
                OR concurrency_name IS NOT excluded.concurrency_name
                OR concurrency_pointer IS NOT excluded.concurrency_pointer
                OR concurrency_limit IS NOT excluded.concurrency_limit OR rate_name IS NOT excluded.rate_name
                OR rate_pointer IS NOT excluded.rate_pointer OR rate_limit IS NOT excluded.rate_limit
                OR rate_period_ms IS NOT excluded.rate_period_ms"
        ))
        .bind(&k.kind)
        .bind(&k.queue)
        .bind(k.priority)
        .bind(k.max_attempts)
        .bind(c_name)
        .bind(c_pointer)
        .bind(k.concurrency.as_ref().map(|c| c.limit))
        .bind(r_name)
        .bind(r_pointer)
        .bind(k.rate.as_ref().map(|r| r.limit))
        .bind(k.rate.as_ref().map(|r| millis(r.period.unwrap_or_default())))
        .execute(&mut *tx)
        .await?;
    }
    let names = serde_json::to_string(&kinds.iter().map(|k| k.kind.as_str()).collect::<Vec<_>>())?;
    sqlx::query("DELETE FROM comptoir_kinds WHERE kind NOT IN (SELECT value FROM json_each(?1))")
        .bind(names)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn list(s: &SqliteStore) -> Result<Vec<KindDefaults>, StoreError> {
    sqlx::query_as::<_, KindColumns>(LIST)
        .fetch_all(&s.reader)
        .await?
        .into_iter()
        .map(KindDefaults::try_from)
        .collect()
}

pub(crate) async fn summary(conn: &mut SqliteConnection, id: i64) -> Result<JobSummary, StoreError> {
    let r = sqlx::query(
        "SELECT id, kind, queue, priority, max_attempts, state, run_at, unique_key FROM comptoir_jobs WHERE id = ?1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    Ok(JobSummary {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        queue: r.try_get("queue")?,
        priority: r.try_get("priority")?,
        max_attempts: r.try_get("max_attempts")?,
        state: r.try_get::<String, _>("state")?.parse().map_err(StoreError::Corrupt)?,
        run_at: from_ms(r.try_get("run_at")?)?,
        unique_key: r.try_get("unique_key")?,
    })
}
