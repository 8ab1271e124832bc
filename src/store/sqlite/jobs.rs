//! The queue engine's SQL on SQLite. Writes go through the single writer
//! connection (`BEGIN IMMEDIATE` where several statements must agree); the
//! clock is SQLite's, in integer milliseconds.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use sqlx::{Row, SqliteConnection};

use super::super::types::{millis, ClaimParams, ClaimedJob, Finish, Inserted, LimitedClaim, NewJob, RunAt};
use super::super::StoreError;
use super::{from_ms, SqliteStore, NOW_MS};

/// Rows per INSERT statement: 14 parameters each, well under SQLite's 32,766.
const INSERT_CHUNK: usize = 500;
const STAMP: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
/// When the attempt started, as the error history writes instants: when its
/// worker claimed it if the start is not recorded yet (starts are written in batches).
const STARTED: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', coalesce(started_at, locked_at) / 1000.0, 'unixepoch')";

pub(crate) async fn insert(conn: &mut SqliteConnection, jobs: &[NewJob]) -> Result<Vec<Inserted>, StoreError> {
    let mut out = Vec::with_capacity(jobs.len());
    for chunk in jobs.chunks(INSERT_CHUNK) {
        out.extend(insert_chunk(conn, chunk).await?);
    }
    Ok(out)
}

async fn insert_chunk(conn: &mut SqliteConnection, jobs: &[NewJob]) -> Result<Vec<Inserted>, StoreError> {
    let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; jobs.len()].join(", ");
    let sql = format!(
        "INSERT INTO comptoir_jobs (kind, args, queue, priority, max_attempts, run_at, state, unique_key,
                                    concurrency_key, concurrency_limit, rate_key, rate_limit, rate_period_ms)
         SELECT kind, args, queue, priority, max_attempts, due,
                CASE WHEN due > n THEN 'scheduled' ELSE 'available' END, unique_key,
                c_key, c_limit, r_key, r_limit, r_period
         FROM (SELECT v.column1 AS ord, v.column2 AS kind, v.column3 AS args, v.column4 AS queue,
                      v.column5 AS priority, v.column6 AS max_attempts,
                      COALESCE(v.column7, c.n + v.column8) AS due, v.column9 AS unique_key, c.n AS n,
                      v.column10 AS c_key, v.column11 AS c_limit, v.column12 AS r_key, v.column13 AS r_limit,
                      v.column14 AS r_period
               FROM (VALUES {values}) AS v CROSS JOIN (SELECT {NOW_MS} AS n) AS c
               ORDER BY v.column1)
         WHERE true
         ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state NOT IN ('cancelled', 'discarded')
         DO NOTHING
         RETURNING id, unique_key"
    );
    let mut query = sqlx::query(&sql);
    for (ord, j) in jobs.iter().enumerate() {
        let (at, delay) = match j.run_at {
            RunAt::Now => (None, 0),
            RunAt::In(d) => (None, millis(d)),
            RunAt::At(t) => (Some(t.timestamp_millis()), 0),
        };
        query = query
            .bind(ord as i64)
            .bind(&j.kind)
            .bind(j.args.to_string())
            .bind(&j.queue)
            .bind(j.priority)
            .bind(j.max_attempts)
            .bind(at)
            .bind(delay)
            .bind(j.unique_key.as_deref())
            .bind(j.concurrency.as_ref().map(|c| c.key.as_str()))
            .bind(j.concurrency.as_ref().map(|c| c.limit))
            .bind(j.rate.as_ref().map(|r| r.key.as_str()))
            .bind(j.rate.as_ref().map(|r| r.limit))
            .bind(j.rate.as_ref().map(|r| millis(r.period)));
    }
    let rows = query.fetch_all(&mut *conn).await?;

    let mut plain_ids = Vec::new();
    let mut keyed: HashMap<String, i64> = HashMap::new();
    for row in rows {
        let id: i64 = row.try_get("id")?;
        match row.try_get::<Option<String>, _>("unique_key")? {
            Some(key) => {
                keyed.insert(key, id);
            }
            None => plain_ids.push(id),
        }
    }
    // AUTOINCREMENT ids grow in insertion order, which follows `ord`.
    plain_ids.sort_unstable();
    let mut plain = plain_ids.into_iter();
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(jobs.len());
    for j in jobs {
        let inserted = match j.unique_key.as_deref() {
            None => Inserted::New(
                plain
                    .next()
                    .ok_or_else(|| StoreError::Database("insert returned fewer rows than jobs".into()))?,
            ),
            Some(key) => match keyed.get(key) {
                Some(&id) if seen.insert(key.to_string()) => Inserted::New(id),
                Some(&id) => Inserted::Duplicate(id),
                None => {
                    let id: Option<i64> = sqlx::query_scalar(
                        "SELECT id FROM comptoir_jobs
                         WHERE unique_key = ? AND state NOT IN ('cancelled', 'discarded')",
                    )
                    .bind(key)
                    .fetch_optional(&mut *conn)
                    .await?;
                    Inserted::Duplicate(id.ok_or_else(|| {
                        StoreError::Conflict(format!("unique key {key:?} is taken by a job being finished"))
                    })?)
                }
            },
        };
        out.push(inserted);
    }
    Ok(out)
}

pub(crate) async fn has_due(s: &SqliteStore, queue: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT EXISTS (SELECT 1 FROM comptoir_jobs
         WHERE state IN ('available', 'scheduled', 'retryable') AND queue = ?1 AND run_at <= {NOW_MS})
           AND NOT EXISTS (SELECT 1 FROM comptoir_queues WHERE name = ?1 AND paused)"
    ))
    .bind(queue)
    .fetch_one(&s.reader)
    .await?)
}

/// The due jobs of queue `?1`.
fn due() -> String {
    format!("state IN ('available', 'scheduled', 'retryable') AND queue = ?1 AND run_at <= {NOW_MS}")
}
const CLAIMED_COLUMNS: &str = "id, kind, args, queue, priority, attempt, max_attempts, created_at, run_at";

/// Claims due jobs that carry no limit.
pub(crate) async fn claim(s: &SqliteStore, p: &ClaimParams<'_>) -> Result<Vec<ClaimedJob>, StoreError> {
    // One statement: SQLite takes the write lock before reading, so two
    // claimers (threads or processes) never pick the same row.
    let rows = sqlx::query(&format!(
        "UPDATE comptoir_jobs
         SET state = 'running', attempt = attempt + 1, locked_by = ?3, locked_at = {NOW_MS}, started_at = NULL,
             lease_expires_at = {NOW_MS} + ?4, updated_at = {NOW_MS}
         WHERE id IN (SELECT id FROM comptoir_jobs
                      WHERE {due} AND concurrency_key IS NULL AND rate_key IS NULL
                        AND NOT EXISTS (SELECT 1 FROM comptoir_queues WHERE name = ?1 AND paused)
                      ORDER BY priority, run_at, id LIMIT ?2)
         RETURNING {CLAIMED_COLUMNS}",
        due = due()
    ))
    .bind(p.queue)
    .bind(p.limit)
    .bind(p.worker_id)
    .bind(millis(p.lease))
    .fetch_all(&s.writer)
    .await?;
    claimed(rows)
}

/// Claims due jobs that carry a concurrency or rate limit, within their
/// limits. One `BEGIN IMMEDIATE` transaction: SQLite's write lock already
/// makes claimers take turns, so the counts read here cannot change before
/// the claimed rows are written. A handful of statements per key, all local.
pub(crate) async fn claim_limited(s: &SqliteStore, p: &ClaimParams<'_>) -> Result<LimitedClaim, StoreError> {
    let due = due();
    let mut tx = s.writer.begin_with("BEGIN IMMEDIATE").await?;
    let now: i64 = sqlx::query_scalar(&format!("SELECT {NOW_MS}"))
        .fetch_one(&mut *tx)
        .await?;
    let next: Vec<(Option<String>, Option<String>)> = sqlx::query_as(&format!(
        "SELECT concurrency_key, rate_key FROM comptoir_jobs
         WHERE {due} AND (concurrency_key IS NOT NULL OR rate_key IS NOT NULL)
           AND NOT EXISTS (SELECT 1 FROM comptoir_queues WHERE name = ?1 AND paused)
         ORDER BY priority, run_at, id LIMIT ?2"
    ))
    .bind(p.queue)
    .bind(p.limit.saturating_mul(4))
    .fetch_all(&mut *tx)
    .await?;
    let mut c_keys: Vec<String> = next.iter().filter_map(|(c, _)| c.clone()).collect();
    let mut r_keys: Vec<String> = next.iter().filter_map(|(_, r)| r.clone()).collect();
    c_keys.sort();
    c_keys.dedup();
    r_keys.sort();
    r_keys.dedup();
    if c_keys.is_empty() && r_keys.is_empty() {
        tx.commit().await?;
        return Ok(LimitedClaim::default());
    }

    // Starts left per rate key in the window ending now, and the window's length.
    let mut rate_free: HashMap<String, (i64, i64)> = HashMap::new();
    for key in &r_keys {
        let Some((limit, period)): Option<(i64, i64)> = sqlx::query_as(&format!(
            "SELECT rate_limit, rate_period_ms FROM comptoir_jobs WHERE {due} AND rate_key = ?2
             ORDER BY priority, run_at, id LIMIT 1"
        ))
        .bind(p.queue)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?
        else {
            continue;
        };
        sqlx::query("DELETE FROM comptoir_rate_starts WHERE rate_key = ? AND started_at <= ?")
            .bind(key)
            .bind(now - period)
            .execute(&mut *tx)
            .await?;
        let used: i64 = sqlx::query_scalar("SELECT count(*) FROM comptoir_rate_starts WHERE rate_key = ?")
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
        rate_free.insert(key.clone(), (limit - used, period));
    }

    // (priority, run_at, id, rate key) of the jobs each key allows, earliest first.
    let mut candidates: Vec<(i64, i64, i64, Option<String>)> = Vec::new();
    for key in &c_keys {
        let Some(limit): Option<i64> = sqlx::query_scalar(&format!(
            "SELECT concurrency_limit FROM comptoir_jobs WHERE {due} AND concurrency_key = ?2
             ORDER BY priority, run_at, id LIMIT 1"
        ))
        .bind(p.queue)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?
        else {
            continue;
        };
        let running: i64 =
            sqlx::query_scalar("SELECT count(*) FROM comptoir_jobs WHERE state = 'running' AND concurrency_key = ?")
                .bind(key)
                .fetch_one(&mut *tx)
                .await?;
        if limit - running <= 0 {
            continue;
        }
        let rows: Vec<(i64, i64, i64, Option<String>)> = sqlx::query_as(&format!(
            "SELECT priority, run_at, id, rate_key FROM comptoir_jobs WHERE {due} AND concurrency_key = ?2
             ORDER BY priority, run_at, id LIMIT ?3"
        ))
        .bind(p.queue)
        .bind(key)
        .bind(limit - running)
        .fetch_all(&mut *tx)
        .await?;
        candidates.extend(
            rows.into_iter()
                .filter(|(_, _, _, r)| r.as_ref().is_none_or(|r| rate_free.contains_key(r))),
        );
    }
    for (key, (free, _)) in &rate_free {
        if *free <= 0 {
            continue;
        }
        let rows: Vec<(i64, i64, i64, Option<String>)> = sqlx::query_as(&format!(
            "SELECT priority, run_at, id, rate_key FROM comptoir_jobs
             WHERE {due} AND rate_key = ?2 AND concurrency_key IS NULL
             ORDER BY priority, run_at, id LIMIT ?3"
        ))
        .bind(p.queue)
        .bind(key)
        .bind(free)
        .fetch_all(&mut *tx)
        .await?;
        candidates.extend(rows);
    }
    candidates.sort();
    let mut taken: HashMap<&str, i64> = HashMap::new();
    let mut picked: Vec<(i64, Option<String>)> = Vec::new();
    let mut rate_picked = 0;
    for (_, _, id, rate_key) in &candidates {
        if picked.len() as i64 >= p.limit {
            break;
        }
        if let Some(key) = rate_key {
            let free = rate_free.get(key).map_or(0, |(free, _)| *free);
            let n = taken.entry(key.as_str()).or_insert(0);
            if *n >= free || rate_picked >= p.rate_room {
                continue;
            }
            *n += 1;
            rate_picked += 1;
        }
        picked.push((*id, rate_key.clone()));
    }

    let mut rows = Vec::with_capacity(picked.len());
    for (id, rate_key) in &picked {
        if let Some(row) = sqlx::query(&format!(
            "UPDATE comptoir_jobs
             SET state = 'running', attempt = attempt + 1, locked_by = ?2, locked_at = ?4, started_at = NULL,
                 lease_expires_at = ?4 + ?3, updated_at = ?4
             WHERE id = ?1 AND state IN ('available', 'scheduled', 'retryable')
             RETURNING {CLAIMED_COLUMNS}"
        ))
        .bind(id)
        .bind(p.worker_id)
        .bind(millis(p.lease))
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
        {
            if let Some(key) = rate_key {
                sqlx::query("INSERT INTO comptoir_rate_starts (rate_key, started_at, job_id) VALUES (?, ?, ?)")
                    .bind(key)
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            rows.push(row);
        }
    }

    // When the next start frees up under a rate key that is full.
    let mut rate_wait: Option<i64> = None;
    for (key, (free, period)) in &rate_free {
        let used_now = taken.get(key.as_str()).copied().unwrap_or(0);
        if free - used_now > 0 {
            continue;
        }
        let first: Option<i64> =
            sqlx::query_scalar("SELECT min(started_at) FROM comptoir_rate_starts WHERE rate_key = ?")
                .bind(key)
                .fetch_one(&mut *tx)
                .await?;
        if let Some(first) = first {
            let wait = (first + period - now).max(0);
            rate_wait = Some(rate_wait.map_or(wait, |w| w.min(wait)));
        }
    }
    tx.commit().await?;
    Ok(LimitedClaim {
        held: (rows.len() as i64) < p.limit,
        jobs: claimed(rows)?,
        rate_wait: rate_wait.map(|ms| Duration::from_millis(ms as u64)),
    })
}

/// The claimed rows, most urgent first.
fn claimed(rows: Vec<sqlx::sqlite::SqliteRow>) -> Result<Vec<ClaimedJob>, StoreError> {
    let mut jobs = rows
        .into_iter()
        .map(|r| {
            let args: String = r.try_get("args")?;
            Ok((
                r.try_get::<i64, _>("run_at")?,
                ClaimedJob {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    args: serde_json::from_str(&args)?,
                    queue: r.try_get("queue")?,
                    priority: r.try_get("priority")?,
                    attempt: r.try_get("attempt")?,
                    max_attempts: r.try_get("max_attempts")?,
                    created_at: from_ms(r.try_get("created_at")?)?,
                },
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    jobs.sort_by_key(|(run_at, j)| (j.priority, *run_at, j.id));
    Ok(jobs.into_iter().map(|(_, j)| j).collect())
}

/// Queues paused now.
pub(crate) async fn paused_queues(s: &SqliteStore) -> Result<Vec<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT name FROM comptoir_queues WHERE paused ORDER BY name")
            .fetch_all(&s.reader)
            .await?,
    )
}

pub(crate) async fn mark_started(s: &SqliteStore, worker_id: &str, started: &[(i64, i32)]) -> Result<u64, StoreError> {
    let sql = format!(
        "UPDATE comptoir_jobs SET started_at = {NOW_MS}
         WHERE id = ? AND attempt = ? AND locked_by = ? AND state = 'running' AND started_at IS NULL"
    );
    Ok(for_each_job(s, &sql, worker_id, started).await?.len() as u64)
}

pub(crate) async fn complete(s: &SqliteStore, worker_id: &str, done: &[(i64, i32)]) -> Result<Vec<i64>, StoreError> {
    let sql = format!(
        "UPDATE comptoir_jobs SET state = 'completed', finished_at = {NOW_MS}, updated_at = {NOW_MS},
             lease_expires_at = NULL
         WHERE id = ? AND attempt = ? AND locked_by = ? AND state = 'running'"
    );
    for_each_job(s, &sql, worker_id, done).await
}

/// Runs `sql` (binding id, attempt, worker) once per job, in one write
/// transaction; returns the ids of the rows it changed.
async fn for_each_job(
    s: &SqliteStore,
    sql: &str,
    worker_id: &str,
    jobs: &[(i64, i32)],
) -> Result<Vec<i64>, StoreError> {
    let mut tx = s.writer.begin_with("BEGIN IMMEDIATE").await?;
    let mut changed = Vec::with_capacity(jobs.len());
    for (id, attempt) in jobs {
        let n = sqlx::query(sql)
            .bind(id)
            .bind(attempt)
            .bind(worker_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1 {
            changed.push(*id);
        }
    }
    tx.commit().await?;
    Ok(changed)
}

pub(crate) async fn finish(
    s: &SqliteStore,
    worker_id: &str,
    id: i64,
    attempt: i32,
    how: &Finish,
) -> Result<bool, StoreError> {
    // The attempt's error, with when it started (see `STARTED`), and for a retry when the next one is due.
    let push_error = format!(
        "errors = json_insert(errors, '$[#]', json_object('attempt', attempt, 'at', {STAMP}, 'error', ?3,
             'started_at', {STARTED}))"
    );
    let push_retry_error = format!(
        "errors = json_insert(errors, '$[#]', json_object('attempt', attempt, 'at', {STAMP}, 'error', ?3,
             'started_at', {STARTED},
             'retry_at', strftime('%Y-%m-%dT%H:%M:%fZ', ({NOW_MS} + ?4) / 1000.0, 'unixepoch')))"
    );
    // The worker that holds the job, with the attempt it was given, or nothing.
    let guard = |worker_param: u8| {
        format!("WHERE id = ?1 AND attempt = ?2 AND locked_by = ?{worker_param} AND state = 'running'")
    };
    let result = match how {
        Finish::Retry { delay, error } => {
            sqlx::query(&format!(
                "UPDATE comptoir_jobs SET state = 'retryable', run_at = {NOW_MS} + ?4, {push_retry_error},
                 lease_expires_at = NULL, updated_at = {NOW_MS} {}",
                guard(5)
            ))
            .bind(id)
            .bind(attempt)
            .bind(error.as_str())
            .bind(millis(*delay))
            .bind(worker_id)
            .execute(&s.writer)
            .await?
        }
        Finish::Discard { error: text } | Finish::Cancel { reason: text } => {
            let state = if matches!(how, Finish::Discard { .. }) {
                "discarded"
            } else {
                "cancelled"
            };
            sqlx::query(&format!(
                "UPDATE comptoir_jobs SET state = '{state}', finished_at = {NOW_MS}, {push_error},
                     lease_expires_at = NULL, updated_at = {NOW_MS} {}",
                guard(4)
            ))
            .bind(id)
            .bind(attempt)
            .bind(text.as_str())
            .bind(worker_id)
            .execute(&s.writer)
            .await?
        }
        Finish::Snooze { delay } => {
            sqlx::query(&format!(
                "UPDATE comptoir_jobs SET state = 'scheduled', attempt = attempt - 1, run_at = {NOW_MS} + ?3,
                 lease_expires_at = NULL, updated_at = {NOW_MS} {}",
                guard(4)
            ))
            .bind(id)
            .bind(attempt)
            .bind(millis(*delay))
            .bind(worker_id)
            .execute(&s.writer)
            .await?
        }
    };
    Ok(result.rows_affected() == 1)
}

pub(crate) async fn heartbeat(s: &SqliteStore, worker_id: &str, lease: Duration) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar(&format!(
        "UPDATE comptoir_jobs SET lease_expires_at = {NOW_MS} + ?
         WHERE locked_by = ? AND state = 'running' RETURNING id"
    ))
    .bind(millis(lease))
    .bind(worker_id)
    .fetch_all(&s.writer)
    .await?)
}

/// Jobs whose lease expired: a started one becomes retryable (or discarded
/// when it had used its last attempt), with an error for the attempt it lost;
/// one that was only claimed gets its attempt back and is available at once.
pub(crate) async fn rescue(s: &SqliteStore, limit: i64) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar(&format!(
        "UPDATE comptoir_jobs
         SET state = CASE WHEN started_at IS NULL THEN 'available'
                          WHEN attempt >= max_attempts THEN 'discarded' ELSE 'retryable' END,
             attempt = CASE WHEN started_at IS NULL THEN attempt - 1 ELSE attempt END,
             finished_at = CASE WHEN started_at IS NOT NULL AND attempt >= max_attempts THEN {NOW_MS} END,
             locked_by = CASE WHEN started_at IS NULL THEN NULL ELSE locked_by END,
             locked_at = CASE WHEN started_at IS NULL THEN NULL ELSE locked_at END,
             run_at = {NOW_MS}, lease_expires_at = NULL, updated_at = {NOW_MS},
             errors = CASE WHEN started_at IS NULL THEN errors
                      ELSE json_insert(errors, '$[#]', json_object(
                          'attempt', attempt, 'at', {STAMP}, 'started_at', {STARTED},
                          'retry_at', CASE WHEN attempt < max_attempts THEN {STAMP} END,
                          'error', 'lease expired: worker ' || coalesce(locked_by, '?')
                                   || ' stopped renewing it (killed, frozen or cut off)')) END
         WHERE id IN (SELECT id FROM comptoir_jobs WHERE state = 'running' AND lease_expires_at < {NOW_MS}
                      ORDER BY lease_expires_at LIMIT ?)
         RETURNING id"
    ))
    .bind(limit)
    .fetch_all(&s.writer)
    .await?)
}

pub(crate) async fn release(s: &SqliteStore, worker_id: &str, jobs: &[(i64, i32)]) -> Result<u64, StoreError> {
    let mut tx = s.writer.begin_with("BEGIN IMMEDIATE").await?;
    let sql = format!(
        "UPDATE comptoir_jobs
         SET state = 'available', attempt = attempt - 1, locked_by = NULL, locked_at = NULL,
             lease_expires_at = NULL, updated_at = {NOW_MS}
         WHERE id = ? AND attempt = ? AND locked_by = ? AND state = 'running'"
    );
    let mut n = 0;
    for (id, attempt) in jobs {
        n += sqlx::query(&sql)
            .bind(id)
            .bind(attempt)
            .bind(worker_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    tx.commit().await?;
    Ok(n)
}

pub(crate) async fn prune(s: &SqliteStore, older_than: Duration, limit: i64) -> Result<u64, StoreError> {
    let res = sqlx::query(&format!(
        "DELETE FROM comptoir_jobs WHERE id IN (
             SELECT id FROM comptoir_jobs
             WHERE state IN ('completed', 'cancelled', 'discarded') AND finished_at < {NOW_MS} - ?
             LIMIT ?)"
    ))
    .bind(millis(older_than))
    .bind(limit)
    .execute(&s.writer)
    .await?;
    Ok(res.rows_affected())
}

pub(crate) async fn set_progress(
    s: &SqliteStore,
    id: i64,
    attempt: i32,
    progress: &serde_json::Value,
) -> Result<bool, StoreError> {
    let res = sqlx::query(&format!(
        "UPDATE comptoir_jobs SET progress = ?, updated_at = {NOW_MS}
         WHERE id = ? AND attempt = ? AND state = 'running'"
    ))
    .bind(progress.to_string())
    .bind(id)
    .bind(attempt)
    .execute(&s.writer)
    .await?;
    Ok(res.rows_affected() == 1)
}
