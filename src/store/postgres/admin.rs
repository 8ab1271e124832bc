//! Inspection and repair on PostgreSQL: what the CLI and the admin show and do.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::super::types::{
    AttemptError, JobFilter, JobOrder, JobRow, JobSort, JobSortValue, JobState, QueueCount, WorkerInfo,
};
use super::super::StoreError;
use super::PgStore;

pub(super) const COLUMNS: &str =
    "id, kind, args, queue, priority, state, attempt, max_attempts, run_at, locked_by, locked_at,
    started_at, lease_expires_at, errors, unique_key, progress, created_at, updated_at, finished_at";

pub(super) fn decode(r: &PgRow) -> Result<JobRow, StoreError> {
    let state: String = r.try_get("state")?;
    let errors: serde_json::Value = r.try_get("errors")?;
    Ok(JobRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        args: r.try_get("args")?,
        queue: r.try_get("queue")?,
        priority: r.try_get("priority")?,
        state: state.parse().map_err(StoreError::Corrupt)?,
        attempt: r.try_get("attempt")?,
        max_attempts: r.try_get("max_attempts")?,
        run_at: r.try_get("run_at")?,
        locked_by: r.try_get("locked_by")?,
        locked_at: r.try_get("locked_at")?,
        started_at: r.try_get("started_at")?,
        lease_expires_at: r.try_get("lease_expires_at")?,
        errors: serde_json::from_value::<Vec<AttemptError>>(errors)?,
        unique_key: r.try_get("unique_key")?,
        progress: r.try_get("progress")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

pub(crate) async fn get(s: &PgStore, id: i64) -> Result<JobRow, StoreError> {
    get_on(&s.pool, id).await
}

async fn get_on<'e>(ex: impl sqlx::PgExecutor<'e>, id: i64) -> Result<JobRow, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM comptoir_jobs WHERE id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await?
        .ok_or(StoreError::NotFound)?;
    decode(&row)
}

pub(crate) async fn live_by_unique_key(s: &PgStore, key: &str) -> Result<Option<JobRow>, StoreError> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM comptoir_jobs
         WHERE unique_key = $1 AND state NOT IN ('completed', 'cancelled', 'discarded')"
    ))
    .bind(key)
    .fetch_optional(&s.pool)
    .await?
    .as_ref()
    .map(decode)
    .transpose()
}

/// A list sorted by a whitelisted column (each one's SQL a constant here),
/// then by id, from a keyset cursor.
pub(crate) async fn list(s: &PgStore, f: &JobFilter, order: &JobOrder) -> Result<Vec<JobRow>, StoreError> {
    let pattern = f.text.as_deref().map(super::super::jobs::like_pattern);
    let state_rank = state_rank();
    let key = match order.by {
        JobSort::Id => "id",
        JobSort::Kind => "kind",
        JobSort::Queue => "queue",
        JobSort::State => state_rank.as_str(),
        JobSort::Attempt => "attempt",
        JobSort::RunAt => "run_at",
    };
    let (dir, op) = if order.ascending { ("ASC", ">") } else { ("DESC", "<") };
    let cursor = match (&order.after, order.by) {
        (None, _) => String::new(),
        (Some(_), JobSort::Id) => format!("AND id {op} $6"),
        (Some((JobSortValue::Int(_), _)), _) => format!("AND ({key}, id) {op} ($7::bigint, $6)"),
        (Some((JobSortValue::Text(_), _)), _) => format!("AND ({key}, id) {op} ($7::text, $6)"),
        (Some((JobSortValue::Time(_), _)), _) => format!("AND ({key}, id) {op} ($7::timestamptz, $6)"),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM comptoir_jobs
         WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR kind = $2)
           AND ($3::text IS NULL OR queue = $3)
           AND ($4::text IS NULL OR kind ILIKE $4 ESCAPE '\\' OR args::text ILIKE $4 ESCAPE '\\'
                OR unique_key ILIKE $4 ESCAPE '\\' OR errors::text ILIKE $4 ESCAPE '\\')
           {cursor}
         ORDER BY {key} {dir}, id {dir} LIMIT $5"
    );
    let mut query = sqlx::query(&sql)
        .bind(f.state.map(JobState::as_str))
        .bind(f.kind.as_deref())
        .bind(f.queue.as_deref())
        .bind(pattern)
        .bind(f.limit);
    if let Some((value, id)) = &order.after {
        query = query.bind(*id);
        if order.by != JobSort::Id {
            query = match value {
                JobSortValue::Int(v) => query.bind(*v),
                JobSortValue::Text(v) => query.bind(v.clone()),
                JobSortValue::Time(v) => query.bind(*v),
            };
        }
    }
    let rows = query.fetch_all(&s.pool).await?;
    rows.iter().map(decode).collect()
}

/// A state's place in [`JobState::ALL`], as SQL (the lifecycle order).
fn state_rank() -> String {
    let whens: Vec<String> = JobState::ALL
        .iter()
        .map(|st| format!("WHEN '{}' THEN {}", st.as_str(), st.rank()))
        .collect();
    format!("(CASE state {} END)", whens.join(" "))
}

/// Why an update matched no row: the job is missing, or in a state that refuses it.
async fn explain_miss(conn: &mut PgConnection, id: i64, refused: &str) -> StoreError {
    match get_on(&mut *conn, id).await {
        Ok(job) => StoreError::Conflict(format!("job {id} is {}: {refused}", job.state)),
        Err(e) => e,
    }
}

/// Runs an update that returns the job's columns; no row means refused or missing.
async fn update_one(
    conn: &mut PgConnection,
    id: i64,
    query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    refused: &str,
) -> Result<JobRow, StoreError> {
    match query.fetch_optional(&mut *conn).await? {
        Some(r) => decode(&r),
        None => Err(explain_miss(conn, id, refused).await),
    }
}

pub(crate) async fn retry(conn: &mut PgConnection, id: i64) -> Result<JobRow, StoreError> {
    let sql = format!(
        "WITH updated AS (
             UPDATE comptoir_jobs
             SET state = 'available', run_at = now(), max_attempts = GREATEST(max_attempts, attempt + 1),
                 finished_at = NULL, locked_by = NULL, locked_at = NULL, lease_expires_at = NULL, updated_at = now()
             WHERE id = $1 AND state NOT IN ('running', 'completed')
             RETURNING {COLUMNS}),
         woken AS (SELECT pg_notify('comptoir_jobs', queue) FROM updated)
         SELECT * FROM updated WHERE (SELECT count(*) FROM woken) >= 0"
    );
    let refused = "a running or completed job cannot be retried";
    update_one(conn, id, sqlx::query(&sql).bind(id), refused).await
}

pub(crate) async fn cancel(conn: &mut PgConnection, id: i64, reason: &str) -> Result<JobRow, StoreError> {
    let sql = format!(
        "UPDATE comptoir_jobs
         SET state = 'cancelled', finished_at = now(), lease_expires_at = NULL, updated_at = now(),
             errors = errors || jsonb_build_array(jsonb_build_object('attempt', attempt, 'at', now(), 'error', $2::text,
                 'started_at', CASE WHEN state = 'running' THEN coalesce(started_at, locked_at) END))
         WHERE id = $1 AND state NOT IN ('completed', 'cancelled', 'discarded')
         RETURNING {COLUMNS}"
    );
    let query = sqlx::query(&sql).bind(id).bind(reason);
    update_one(conn, id, query, "only a job that has not finished can be cancelled").await
}

pub(crate) async fn discard(conn: &mut PgConnection, id: i64, reason: &str) -> Result<JobRow, StoreError> {
    let sql = format!(
        "UPDATE comptoir_jobs
         SET state = 'discarded', finished_at = now(), lease_expires_at = NULL, updated_at = now(),
             errors = errors || jsonb_build_array(jsonb_build_object('attempt', attempt, 'at', now(), 'error', $2::text))
         WHERE id = $1 AND state IN ('available', 'scheduled', 'retryable')
         RETURNING {COLUMNS}"
    );
    let query = sqlx::query(&sql).bind(id).bind(reason);
    update_one(conn, id, query, "only a waiting job can be discarded").await
}

pub(crate) async fn delete(conn: &mut PgConnection, id: i64) -> Result<JobRow, StoreError> {
    let sql = format!(
        "DELETE FROM comptoir_jobs WHERE id = $1 AND state IN ('completed', 'cancelled', 'discarded')
         RETURNING {COLUMNS}"
    );
    let refused = "only a finished job (completed, cancelled or discarded) can be deleted";
    update_one(conn, id, sqlx::query(&sql).bind(id), refused).await
}

pub(crate) async fn reschedule(conn: &mut PgConnection, id: i64, at: DateTime<Utc>) -> Result<JobRow, StoreError> {
    let sql = format!(
        "WITH updated AS (
             UPDATE comptoir_jobs
             SET state = CASE WHEN $2 > now() THEN 'scheduled' ELSE 'available' END,
                 run_at = GREATEST($2, now()), max_attempts = GREATEST(max_attempts, attempt + 1),
                 finished_at = NULL, locked_by = NULL, locked_at = NULL, lease_expires_at = NULL, updated_at = now()
             WHERE id = $1 AND state NOT IN ('running', 'completed')
             RETURNING {COLUMNS}),
         woken AS (SELECT pg_notify('comptoir_jobs', queue) FROM updated WHERE state = 'available')
         SELECT * FROM updated WHERE (SELECT count(*) FROM woken) >= 0"
    );
    let query = sqlx::query(&sql).bind(id).bind(at);
    update_one(conn, id, query, "a running or completed job cannot be rescheduled").await
}

pub(crate) async fn counts(s: &PgStore) -> Result<Vec<QueueCount>, StoreError> {
    let rows = sqlx::query(
        "SELECT queue, state, count(*) AS n FROM comptoir_jobs GROUP BY queue, state ORDER BY queue, state",
    )
    .fetch_all(&s.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let state: String = r.try_get("state")?;
            Ok(QueueCount {
                queue: r.try_get("queue")?,
                state: state.parse().map_err(StoreError::Corrupt)?,
                count: r.try_get("n")?,
            })
        })
        .collect()
}

pub(crate) async fn register_worker(s: &PgStore, w: &WorkerInfo) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO comptoir_workers (id, hostname, pid, queues, mode) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET last_seen_at = now()",
    )
    .bind(&w.id)
    .bind(&w.hostname)
    .bind(w.pid)
    .bind(&w.queues)
    .bind(&w.mode)
    .execute(&s.pool)
    .await?;
    Ok(())
}

/// Renews the worker's own row and forgets workers silent for `forget_after_ms`.
pub(crate) async fn touch_worker(s: &PgStore, id: &str, forget_after_ms: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE comptoir_workers SET last_seen_at = now() WHERE id = $1")
        .bind(id)
        .execute(&s.pool)
        .await?;
    sqlx::query("DELETE FROM comptoir_workers WHERE last_seen_at < now() - $1 * interval '1 millisecond'")
        .bind(forget_after_ms)
        .execute(&s.pool)
        .await?;
    Ok(())
}

pub(crate) async fn remove_worker(s: &PgStore, id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM comptoir_workers WHERE id = $1")
        .bind(id)
        .execute(&s.pool)
        .await?;
    Ok(())
}

pub(crate) async fn workers(s: &PgStore) -> Result<Vec<WorkerInfo>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, hostname, pid, queues, mode, started_at, last_seen_at FROM comptoir_workers ORDER BY started_at",
    )
    .fetch_all(&s.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(WorkerInfo {
                id: r.try_get("id")?,
                hostname: r.try_get("hostname")?,
                pid: r.try_get("pid")?,
                queues: r.try_get("queues")?,
                mode: r.try_get("mode")?,
                started_at: r.try_get::<DateTime<Utc>, _>("started_at")?,
                last_seen_at: r.try_get::<DateTime<Utc>, _>("last_seen_at")?,
            })
        })
        .collect()
}
