//! `comptoir_kinds` on PostgreSQL (see `store::kinds`).

use sqlx::{PgConnection, Row};

use super::super::kinds::{JobSummary, KindColumns, KindDefaults, LIST};
use super::super::types::millis;
use super::super::StoreError;
use super::PgStore;

pub(crate) async fn publish(s: &PgStore, kinds: &[KindDefaults]) -> Result<(), StoreError> {
    let mut sorted: Vec<&KindDefaults> = kinds.iter().collect();
    // One order for every process, so that two starting at once never deadlock.
    sorted.sort_by(|a, b| a.kind.cmp(&b.kind));
    let mut tx = s.pool.begin().await?;
    for k in &sorted {
        let (c_name, c_pointer) = k.concurrency.as_ref().map_or((None, None), |c| c.key.columns());
        let (r_name, r_pointer) = k.rate.as_ref().map_or((None, None), |r| r.key.columns());
        sqlx::query(
            "INSERT INTO comptoir_kinds AS k (kind, queue, priority, max_attempts,
                 concurrency_name, concurrency_pointer, concurrency_limit,
                 rate_name, rate_pointer, rate_limit, rate_period_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (kind) DO UPDATE SET
                 queue = EXCLUDED.queue, priority = EXCLUDED.priority, max_attempts = EXCLUDED.max_attempts,
                 concurrency_name = EXCLUDED.concurrency_name, concurrency_pointer = EXCLUDED.concurrency_pointer,
                 concurrency_limit = EXCLUDED.concurrency_limit, rate_name = EXCLUDED.rate_name,
                 rate_pointer = EXCLUDED.rate_pointer, rate_limit = EXCLUDED.rate_limit,
                 rate_period_ms = EXCLUDED.rate_period_ms, updated_at = now()
             WHERE (k.queue, k.priority, k.max_attempts, k.concurrency_name, k.concurrency_pointer,
                    k.concurrency_limit, k.rate_name, k.rate_pointer, k.rate_limit, k.rate_period_ms)
                   IS DISTINCT FROM
                   (EXCLUDED.queue, EXCLUDED.priority, EXCLUDED.max_attempts, EXCLUDED.concurrency_name,
                    EXCLUDED.concurrency_pointer, EXCLUDED.concurrency_limit, EXCLUDED.rate_name,
                    EXCLUDED.rate_pointer, EXCLUDED.rate_limit, EXCLUDED.rate_period_ms)",
        )
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
    let names: Vec<&str> = sorted.iter().map(|k| k.kind.as_str()).collect();
    sqlx::query("DELETE FROM comptoir_kinds WHERE kind <> ALL($1)")
        .bind(&names)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn list(s: &PgStore) -> Result<Vec<KindDefaults>, StoreError> {
    sqlx::query_as::<_, KindColumns>(LIST)
        .fetch_all(&s.pool)
        .await?
        .into_iter()
        .map(KindDefaults::try_from)
        .collect()
}

pub(crate) async fn summary(conn: &mut PgConnection, id: i64) -> Result<JobSummary, StoreError> {
    let r = sqlx::query(
        "SELECT id, kind, queue, priority, max_attempts, state, run_at, unique_key FROM comptoir_jobs WHERE id = $1",
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
        run_at: r.try_get("run_at")?,
        unique_key: r.try_get("unique_key")?,
    })
}
