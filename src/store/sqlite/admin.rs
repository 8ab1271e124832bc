//! Inspection and repair on SQLite: what the CLI and the admin show and do.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::super::types::{
    AttemptError, JobFilter, JobOrder, JobRow, JobSort, JobSortValue, JobState, QueueCount, WorkerInfo,
};
use super::super::StoreError;
use super::{from_ms, opt_from_ms, SqliteStore, NOW_MS};

pub(super) const COLUMNS: &str =
    "id, kind, args, queue, priority, state, attempt, max_attempts, run_at, locked_by, locked_at,
    started_at, lease_expires_at, errors, unique_key, progress, created_at, updated_at, finished_at";
const STAMP: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
/// When a running job's attempt started (claimed, if its start is not recorded
/// yet) as the error history writes instants; null for a job not running.
const STARTED_IF_RUNNING: &str =
    "CASE WHEN state = 'running' THEN strftime('%Y-%m-%dT%H:%M:%fZ', coalesce(started_at, locked_at) / 1000.0, 'unixepoch') END";

pub(super) fn decode(r: &SqliteRow) -> Result<JobRow, StoreError> {
    let state: String = r.try_get("state")?;
    let args: String = r.try_get("args")?;
    let errors: String = r.try_get("errors")?;
    let progress: Option<String> = r.try_get("progress")?;
    Ok(JobRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        args: serde_json::from_str(&args)?,
        queue: r.try_get("queue")?,
        priority: r.try_get("priority")?,
        state: state.parse().map_err(StoreError::Corrupt)?,
        attempt: r.try_get("attempt")?,
        max_attempts: r.try_get("max_attempts")?,
        run_at: from_ms(r.try_get("run_at")?)?,
        locked_by: r.try_get("locked_by")?,
        locked_at: opt_from_ms(r.try_get("locked_at")?)?,
        started_at: opt_from_ms(r.try_get("started_at")?)?,
        lease_expires_at: opt_from_ms(r.try_get("lease_expires_at")?)?,
        errors: serde_json::from_str::<Vec<AttemptError>>(&errors)?,
        unique_key: r.try_get("unique_key")?,
        progress: progress.as_deref().map(serde_json::from_str).transpose()?,
        created_at: from_ms(r.try_get("created_at")?)?,
        updated_at: from_ms(r.try_get("updated_at")?)?,
        finished_at: opt_from_ms(r.try_get("finished_at")?)?,
    })
}

pub(crate) async fn get(s: &SqliteStore, id: i64) -> Result<JobRow, StoreError> {
    get_on(&s.reader, id).await
}

async fn get_on<'e>(ex: impl sqlx::SqliteExecutor<'e>, id: i64) -> Result<JobRow, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM comptoir_jobs WHERE id = ?"))
        .bind(id)
        .fetch_optional(ex)
        .await?
        .ok_or(StoreError::NotFound)?;
    decode(&row)
}

pub(crate) async fn live_by_unique_key(s: &SqliteStore, key: &str) -> Result<Option<JobRow>, StoreError> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM comptoir_jobs
         WHERE unique_key = ? AND state NOT IN ('completed', 'cancelled', 'discarded')"
    ))
    .bind(key)
    .fetch_optional(&s.reader)
    .await?
    .as_ref()
    .map(decode)
    .transpose()
}

/// A list sorted by a whitelisted column (each one's SQL a constant here),
/// then by id, from a keyset cursor.
pub(crate) async fn list(s: &SqliteStore, f: &JobFilter, order: &JobOrder) -> Result<Vec<JobRow>, StoreError> {
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
        (Some(_), JobSort::Id) => format!("AND id {op} ?6"),
        (Some(_), _) => format!("AND ({key}, id) {op} (?7, ?6)"),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM comptoir_jobs
         WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR kind = ?2)
           AND (?3 IS NULL OR queue = ?3)
           AND (?4 IS NULL OR kind LIKE ?4 ESCAPE '\\' OR args LIKE ?4 ESCAPE '\\'
                OR unique_key LIKE ?4 ESCAPE '\\' OR errors LIKE ?4 ESCAPE '\\')
           {cursor}
         ORDER BY {key} {dir}, id {dir} LIMIT ?5"
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
                JobSortValue::Time(v) => query.bind(v.timestamp_millis()),
            };
        }
    }
    let rows = query.fetch_all(&s.reader).await?;
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

async fn explain_miss(conn: &mut SqliteConnection, id: i64, refused: &str) -> StoreError {
    match get_on(&mut *conn, id).await {
        Ok(job) => StoreError::Conflict(format!("job {id} is {}: {refused}", job.state)),
        Err(e) => e,
    }
}

/// Runs an update that returns the job's columns; no row means refused or missing.
async fn update_one<'q>(
    conn: &mut SqliteConnection,
    id: i64,
    query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    refused: &str,
) -> Result<JobRow, StoreError> {
    match query.fetch_optional(&mut *conn).await? {
        Some(r) => decode(&r),
        None => Err(explain_miss(conn, id, refused).await),
    }
}

pub(crate) async fn retry(conn: &mut SqliteConnection, id: i64) -> Result<JobRow, StoreError> {
    let sql = format!(
        "UPDATE comptoir_jobs
         SET state = 'available', run_at = {NOW_MS}, max_attempts = max(max_attempts, attempt + 1),
             finished_at = NULL, locked_by = NULL, locked_at = NULL, lease_expires_at = NULL, updated_at = {NOW_MS}
         WHERE id = ?1 AND state NOT IN ('running', 'completed')
         RETURNING {COLUMNS}"
    );
    let refused = "a running or completed job cannot be retried";
    update_one(conn, id, sqlx::query(&sql).bind(id), refused).await
}

pub(crate) async fn cancel(conn: &mut SqliteConnection, id: i64, reason: &str) -> Result<JobRow, StoreError> {
    let sql = format!(
        "UPDATE comptoir_jobs
         SET state = 'cancelled', finished_at = {NOW_MS}, lease_expires_at = NULL, updated_at = {NOW_MS},
             errors = json_insert(errors, '$[#]', json_object('attempt', attempt, 'at', {STAMP}, 'error', ?2,
                 'started_at', {STARTED_IF_RUNNING}))
         WHERE id = ?1 AND state NOT IN ('completed', 'cancelled', 'discarded')
         RETURNING {COLUMNS}"
    );
    let query = sqlx::query(&sql).bind(id).bind(reason);
    update_one(conn, id, query, "only a job that has not finished can be cancelled").await
}

pub(crate) async fn discard(conn: &mut SqliteConnection, id: i64, reason: &str) -> Result<JobRow, StoreError> {
    let sql = format!(
        "UPDATE comptoir_jobs
         SET state = 'discarded', finished_at = {NOW_MS}, lease_expires_at = NULL, updated_at = {NOW_MS},
             errors = json_insert(errors, '$[#]', json_object('attempt', attempt, 'at', {STAMP}, 'error', ?2,
                 'started_at', {STARTED_IF_RUNNING}))
         WHERE id = ?1 AND state IN ('available', 'scheduled', 'retryable')
         RETURNING {COLUMNS}"
    );
    let query = sqlx::query(&sql).bind(id).bind(reason);
    update_one(conn, id, query, "only a waiting job can be discarded").await
}

pub(crate) async fn delete(conn: &mut SqliteConnection, id: i64) -> Result<JobRow, StoreError> {
    let sql = format!(
        "DELETE FROM comptoir_jobs WHERE id = ?1 AND state IN ('completed', 'cancelled', 'discarded')
         RETURNING {COLUMNS}"
    );
    let refused = "only a finished job (completed, cancelled or discarded) can be deleted";
    update_one(conn, id, sqlx::query(&sql).bind(id), refused).await
}

pub(crate) async fn reschedule(conn: &mut SqliteConnection, id: i64, at: DateTime<Utc>) -> Result<JobRow, StoreError> {
    let sql = format!(
        "UPDATE comptoir_jobs
         SET state = CASE WHEN ?2 > {NOW_MS} THEN 'scheduled' ELSE 'available' END,
             run_at = max(?2, {NOW_MS}), max_attempts = max(max_attempts, attempt + 1),
             finished_at = NULL, locked_by = NULL, locked_at = NULL, lease_expires_at = NULL, updated_at = {NOW_MS}
         WHERE id = ?1 AND state NOT IN ('running', 'completed')
         RETURNING {COLUMNS}"
    );
    let query = sqlx::query(&sql).bind(id).bind(at.timestamp_millis());
    update_one(conn, id, query, "a running or completed job cannot be rescheduled").await
}

pub(crate) async fn counts(s: &SqliteStore) -> Result<Vec<QueueCount>, StoreError> {
    let rows = sqlx::query(
        "SELECT queue, state, count(*) AS n FROM comptoir_jobs GROUP BY queue, state ORDER BY queue, state",
    )
    .fetch_all(&s.reader)
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

pub(crate) async fn register_worker(s: &SqliteStore, w: &WorkerInfo) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO comptoir_workers (id, hostname, pid, queues, mode) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET last_seen_at = {NOW_MS}"
    ))
    .bind(&w.id)
    .bind(&w.hostname)
    .bind(w.pid)
    .bind(&w.queues)
    .bind(&w.mode)
    .execute(&s.writer)
    .await?;
    Ok(())
}

pub(crate) async fn touch_worker(s: &SqliteStore, id: &str, forget_after_ms: i64) -> Result<(), StoreError> {
    let mut tx = s.writer.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query(&format!(
        "UPDATE comptoir_workers SET last_seen_at = {NOW_MS} WHERE id = ?"
    ))
    .bind(id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "DELETE FROM comptoir_workers WHERE last_seen_at < {NOW_MS} - ?"
    ))
    .bind(forget_after_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn remove_worker(s: &SqliteStore, id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM comptoir_workers WHERE id = ?")
        .bind(id)
        .execute(&s.writer)
        .await?;
    Ok(())
}

pub(crate) async fn workers(s: &SqliteStore) -> Result<Vec<WorkerInfo>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, hostname, pid, queues, mode, started_at, last_seen_at FROM comptoir_workers ORDER BY started_at",
    )
    .fetch_all(&s.reader)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(WorkerInfo {
                id: r.try_get("id")?,
                hostname: r.try_get("hostname")?,
                pid: r.try_get("pid")?,
                queues: r.try_get("queues")?,
                mode: r.try_get("mode")?,
                started_at: from_ms(r.try_get("started_at")?)?,
                last_seen_at: from_ms(r.try_get("last_seen_at")?)?,
            })
        })
        .collect()
}
