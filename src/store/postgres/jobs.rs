//! The queue engine's SQL on PostgreSQL: insert, claim, complete, finish,
//! heartbeat, rescue, release, prune. Claims use `FOR UPDATE SKIP LOCKED`;
//! the clock is always `now()`.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};

use super::super::types::{millis, ClaimParams, ClaimedJob, Finish, Inserted, LimitedClaim, NewJob, RunAt};
use super::super::StoreError;
use super::PgStore;

const LIVE_UNIQUE: &str = "(unique_key) WHERE unique_key IS NOT NULL AND state NOT IN ('cancelled', 'discarded')";
/// Rows per INSERT statement in a bulk enqueue.
const INSERT_CHUNK: usize = 5_000;

pub(crate) async fn insert(conn: &mut PgConnection, jobs: &[NewJob]) -> Result<Vec<Inserted>, StoreError> {
    let mut out = Vec::with_capacity(jobs.len());
    for chunk in jobs.chunks(INSERT_CHUNK) {
        out.extend(insert_chunk(conn, chunk).await?);
    }
    Ok(out)
}

async fn insert_chunk(conn: &mut PgConnection, jobs: &[NewJob]) -> Result<Vec<Inserted>, StoreError> {
    let mut kinds = Vec::with_capacity(jobs.len());
    let mut args = Vec::with_capacity(jobs.len());
    let mut queues = Vec::with_capacity(jobs.len());
    let mut priorities = Vec::with_capacity(jobs.len());
    let mut max_attempts = Vec::with_capacity(jobs.len());
    let mut run_ats: Vec<Option<DateTime<Utc>>> = Vec::with_capacity(jobs.len());
    let mut delays = Vec::with_capacity(jobs.len());
    let mut keys = Vec::with_capacity(jobs.len());
    let mut c_keys: Vec<Option<&str>> = Vec::with_capacity(jobs.len());
    let mut c_limits: Vec<Option<i32>> = Vec::with_capacity(jobs.len());
    let mut r_keys: Vec<Option<&str>> = Vec::with_capacity(jobs.len());
    let mut r_limits: Vec<Option<i32>> = Vec::with_capacity(jobs.len());
    let mut r_periods: Vec<Option<i64>> = Vec::with_capacity(jobs.len());
    for j in jobs {
        c_keys.push(j.concurrency.as_ref().map(|c| c.key.as_str()));
        c_limits.push(j.concurrency.as_ref().map(|c| c.limit));
        r_keys.push(j.rate.as_ref().map(|r| r.key.as_str()));
        r_limits.push(j.rate.as_ref().map(|r| r.limit));
        r_periods.push(j.rate.as_ref().map(|r| millis(r.period)));
        kinds.push(j.kind.as_str());
        args.push(&j.args);
        queues.push(j.queue.as_str());
        priorities.push(j.priority);
        max_attempts.push(j.max_attempts);
        let (at, delay) = match j.run_at {
            RunAt::Now => (None, 0),
            RunAt::In(d) => (None, millis(d)),
            RunAt::At(t) => (Some(t), 0),
        };
        run_ats.push(at);
        delays.push(delay);
        keys.push(j.unique_key.as_deref());
    }
    // Ids come from one sequence in row order, so sorting them restores the input order.
    let rows = sqlx::query(&format!(
        "INSERT INTO comptoir_jobs (kind, args, queue, priority, max_attempts, run_at, state, unique_key,
                                    concurrency_key, concurrency_limit, rate_key, rate_limit, rate_period_ms)
         SELECT kind, args, queue, priority, max_attempts, due,
                CASE WHEN due > now() THEN 'scheduled' ELSE 'available' END, unique_key,
                c_key, c_limit, r_key, r_limit, r_period
         FROM (SELECT t.*, COALESCE(t.at, now() + t.delay_ms * interval '1 millisecond') AS due
               FROM unnest($1::text[], $2::jsonb[], $3::text[], $4::smallint[], $5::int[],
                           $6::timestamptz[], $7::bigint[], $8::text[],
                           $9::text[], $10::int[], $11::text[], $12::int[], $13::bigint[])
                    WITH ORDINALITY AS t(kind, args, queue, priority, max_attempts, at, delay_ms, unique_key,
                                         c_key, c_limit, r_key, r_limit, r_period, ord)
               ORDER BY t.ord) AS s
         ON CONFLICT {LIVE_UNIQUE} DO NOTHING
         RETURNING id, unique_key"
    ))
    .bind(&kinds)
    .bind(&args)
    .bind(&queues)
    .bind(&priorities)
    .bind(&max_attempts)
    .bind(&run_ats)
    .bind(&delays)
    .bind(&keys)
    .bind(&c_keys)
    .bind(&c_limits)
    .bind(&r_keys)
    .bind(&r_limits)
    .bind(&r_periods)
    .fetch_all(&mut *conn)
    .await?;

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
    plain_ids.sort_unstable();
    let missing: Vec<&str> = jobs
        .iter()
        .filter_map(|j| j.unique_key.as_deref())
        .filter(|k| !keyed.contains_key(*k))
        .collect();
    let existing: HashMap<String, i64> = if missing.is_empty() {
        HashMap::new()
    } else {
        sqlx::query(
            "SELECT unique_key, id FROM comptoir_jobs
             WHERE unique_key = ANY($1) AND state NOT IN ('cancelled', 'discarded')",
        )
        .bind(&missing)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get("unique_key")?, r.try_get("id")?)))
        .collect::<Result<_, sqlx::Error>>()?
    };

    let mut plain = plain_ids.into_iter();
    let mut seen = HashSet::new();
    jobs.iter()
        .map(|j| match j.unique_key.as_deref() {
            None => plain
                .next()
                .map(Inserted::New)
                .ok_or_else(|| StoreError::Database("insert returned fewer rows than jobs".into())),
            Some(key) => match keyed.get(key) {
                Some(&id) if seen.insert(key) => Ok(Inserted::New(id)),
                Some(&id) => Ok(Inserted::Duplicate(id)),
                None => existing.get(key).map(|&id| Inserted::Duplicate(id)).ok_or_else(|| {
                    StoreError::Conflict(format!("unique key {key:?} is taken by a job being finished"))
                }),
            },
        })
        .collect()
}

pub(crate) async fn has_due(s: &PgStore, queue: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM comptoir_jobs
         WHERE state IN ('available', 'scheduled', 'retryable') AND queue = $1 AND run_at <= now())
           AND NOT EXISTS (SELECT 1 FROM comptoir_queues WHERE name = $1 AND paused)",
    )
    .bind(queue)
    .fetch_one(&s.pool)
    .await?)
}

/// The due jobs of a queue that a claim may take: not paused, most urgent first.
const DUE: &str = "state IN ('available', 'scheduled', 'retryable') AND queue = $1 AND run_at <= now()";
const CLAIMED_COLUMNS: &str =
    "j.id, j.kind, j.args, j.queue, j.priority, j.attempt, j.max_attempts, j.created_at, j.run_at";

/// Claims due jobs that carry no limit (one statement, `SKIP LOCKED`).
pub(crate) async fn claim(s: &PgStore, p: &ClaimParams<'_>) -> Result<Vec<ClaimedJob>, StoreError> {
    let rows = sqlx::query(&format!(
        "WITH picked AS (
             SELECT id FROM comptoir_jobs
             WHERE {DUE} AND concurrency_key IS NULL AND rate_key IS NULL
               AND NOT EXISTS (SELECT 1 FROM comptoir_queues WHERE name = $1 AND paused)
             ORDER BY priority, run_at, id
             LIMIT $2
             FOR UPDATE SKIP LOCKED)
         UPDATE comptoir_jobs j
         SET state = 'running', attempt = j.attempt + 1, locked_by = $3, locked_at = now(), started_at = NULL,
             lease_expires_at = now() + $4 * interval '1 millisecond', updated_at = now()
         FROM picked WHERE j.id = picked.id
         RETURNING {CLAIMED_COLUMNS}"
    ))
    .bind(p.queue)
    .bind(p.limit)
    .bind(p.worker_id)
    .bind(millis(p.lease))
    .fetch_all(&s.pool)
    .await?;
    claimed(rows)
}

/// Claims due jobs that carry a concurrency or rate limit, within their limits.
///
/// One transaction. The first statement lists the keys of the next limited
/// jobs and takes a transaction advisory lock per key it can (`try`: a key
/// another claimer holds is left to it, and nothing waits); the second, a
/// fresh snapshot taken under those locks, counts what runs and what started
/// within each rate window and claims at most what is left, the earliest
/// jobs of each key first. Only claimers of the same key wait on each other;
/// the rest of the queue is untouched. The locks end with the transaction,
/// by which time the claimed rows are `running` and the starts recorded.
pub(crate) async fn claim_limited(s: &PgStore, p: &ClaimParams<'_>) -> Result<LimitedClaim, StoreError> {
    let mut tx = s.pool.begin().await?;
    let seen: Vec<(String, bool)> = sqlx::query_as(&format!(
        "WITH next AS (
             SELECT concurrency_key, rate_key FROM comptoir_jobs
             WHERE {DUE} AND (concurrency_key IS NOT NULL OR rate_key IS NOT NULL)
               AND NOT EXISTS (SELECT 1 FROM comptoir_queues WHERE name = $1 AND paused)
             ORDER BY priority, run_at, id
             LIMIT $2),
         keys AS (
             SELECT DISTINCT k FROM next
             CROSS JOIN LATERAL (VALUES ('c:' || next.concurrency_key), ('r:' || next.rate_key)) AS v(k)
             WHERE k IS NOT NULL)
         SELECT k, pg_try_advisory_xact_lock(hashtextextended('comptoir:' || k, 0)) FROM keys"
    ))
    .bind(p.queue)
    .bind(p.limit.saturating_mul(4))
    .fetch_all(&mut *tx)
    .await?;
    let keys: Vec<&String> = seen.iter().filter(|(_, locked)| *locked).map(|(k, _)| k).collect();
    if keys.is_empty() {
        tx.commit().await?;
        return Ok(LimitedClaim {
            // Limited jobs are due under keys other claimers hold right now.
            held: !seen.is_empty(),
            ..LimitedClaim::default()
        });
    }
    let c_keys: Vec<&str> = keys.iter().filter_map(|k| k.strip_prefix("c:")).collect();
    let r_keys: Vec<&str> = keys.iter().filter_map(|k| k.strip_prefix("r:")).collect();
    let rows = sqlx::query(&format!(
        "WITH clock AS MATERIALIZED (SELECT clock_timestamp() AS at),
         ckeys AS (
             SELECT k.key, lim.concurrency_limit - (
                        SELECT count(*) FROM comptoir_jobs r
                        WHERE r.state = 'running' AND r.concurrency_key = k.key) AS free
             FROM unnest($5::text[]) AS k(key)
             CROSS JOIN LATERAL (
                 SELECT concurrency_limit FROM comptoir_jobs
                 WHERE {DUE} AND concurrency_key = k.key
                 ORDER BY priority, run_at, id LIMIT 1) AS lim),
         rkeys AS (
             SELECT k.key, lim.rate_limit - (
                        SELECT count(*) FROM comptoir_rate_starts st
                        WHERE st.rate_key = k.key
                          AND st.started_at > (SELECT at FROM clock) - lim.rate_period_ms * interval '1 millisecond')
                    AS free
             FROM unnest($6::text[]) AS k(key)
             CROSS JOIN LATERAL (
                 SELECT rate_limit, rate_period_ms FROM comptoir_jobs
                 WHERE {DUE} AND rate_key = k.key
                 ORDER BY priority, run_at, id LIMIT 1) AS lim),
         by_concurrency AS (
             SELECT j.id, j.priority, j.run_at, j.rate_key FROM ckeys
             CROSS JOIN LATERAL (
                 SELECT id, priority, run_at, rate_key FROM comptoir_jobs
                 WHERE {DUE} AND concurrency_key = ckeys.key
                   AND (rate_key IS NULL OR rate_key IN (SELECT key FROM rkeys))
                 ORDER BY priority, run_at, id
                 LIMIT greatest(ckeys.free, 0)) AS j),
         by_rate AS (
             SELECT j.id, j.priority, j.run_at, j.rate_key FROM rkeys
             CROSS JOIN LATERAL (
                 SELECT id, priority, run_at, rate_key FROM comptoir_jobs
                 WHERE {DUE} AND rate_key = rkeys.key AND concurrency_key IS NULL
                 ORDER BY priority, run_at, id
                 LIMIT greatest(rkeys.free, 0)) AS j),
         candidates AS (
             SELECT c.*,
                    row_number() OVER (PARTITION BY c.rate_key ORDER BY c.priority, c.run_at, c.id) AS rate_rank,
                    row_number() OVER (PARTITION BY c.rate_key IS NULL ORDER BY c.priority, c.run_at, c.id)
                        AS limited_rank
             FROM (SELECT * FROM by_concurrency UNION ALL SELECT * FROM by_rate) AS c),
         picked AS (
             SELECT c.id FROM candidates c LEFT JOIN rkeys ON rkeys.key = c.rate_key
             WHERE c.rate_key IS NULL OR (c.rate_rank <= rkeys.free AND c.limited_rank <= $7)
             ORDER BY c.priority, c.run_at, c.id
             LIMIT $2),
         claimed AS (
             UPDATE comptoir_jobs j
             SET state = 'running', attempt = j.attempt + 1, locked_by = $3, locked_at = (SELECT at FROM clock),
                 started_at = NULL, lease_expires_at = now() + $4 * interval '1 millisecond', updated_at = now()
             FROM picked WHERE j.id = picked.id AND j.state IN ('available', 'scheduled', 'retryable')
             RETURNING {CLAIMED_COLUMNS}, j.rate_key),
         started AS (
             INSERT INTO comptoir_rate_starts (rate_key, started_at, job_id)
             SELECT rate_key, (SELECT at FROM clock), id FROM claimed WHERE rate_key IS NOT NULL)
         SELECT * FROM claimed"
    ))
    .bind(p.queue)
    .bind(p.limit)
    .bind(p.worker_id)
    .bind(millis(p.lease))
    .bind(&c_keys)
    .bind(&r_keys)
    .bind(p.rate_room)
    .fetch_all(&mut *tx)
    .await?;
    let jobs = claimed(rows)?;
    let rate_wait = if r_keys.is_empty() {
        None
    } else {
        // Starts older than the window are forgotten, and the caller learns
        // when the next start frees up under a key that is full.
        let wait_ms: Option<f64> = sqlx::query_scalar(
            "WITH windows AS (
                 SELECT k.key, lim.rate_limit, lim.rate_period_ms * interval '1 millisecond' AS period
                 FROM unnest($1::text[]) AS k(key)
                 CROSS JOIN LATERAL (
                     SELECT rate_limit, rate_period_ms FROM comptoir_jobs
                     WHERE state IN ('available', 'scheduled', 'retryable') AND rate_key = k.key AND queue = $2
                     ORDER BY priority, run_at, id LIMIT 1) AS lim),
             forgotten AS (
                 DELETE FROM comptoir_rate_starts st USING windows w
                 WHERE st.rate_key = w.key AND st.started_at <= clock_timestamp() - w.period)
             SELECT min(extract(epoch FROM (first.started_at + w.period - clock_timestamp())) * 1000)::float8
             FROM windows w
             CROSS JOIN LATERAL (
                 SELECT started_at FROM comptoir_rate_starts st
                 WHERE st.rate_key = w.key AND st.started_at > clock_timestamp() - w.period
                 ORDER BY started_at LIMIT 1) AS first
             WHERE (SELECT count(*) FROM comptoir_rate_starts st
                    WHERE st.rate_key = w.key AND st.started_at > clock_timestamp() - w.period) >= w.rate_limit",
        )
        .bind(&r_keys)
        .bind(p.queue)
        .fetch_one(&mut *tx)
        .await?;
        wait_ms.map(|ms| Duration::from_micros((ms.max(0.0) * 1000.0) as u64))
    };
    tx.commit().await?;
    let held = (jobs.len() as i64) < p.limit;
    Ok(LimitedClaim { jobs, rate_wait, held })
}

/// The claimed rows, most urgent first.
fn claimed(rows: Vec<sqlx::postgres::PgRow>) -> Result<Vec<ClaimedJob>, StoreError> {
    let mut jobs = rows
        .into_iter()
        .map(|r| {
            Ok((
                r.try_get::<DateTime<Utc>, _>("run_at")?,
                ClaimedJob {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    args: r.try_get("args")?,
                    queue: r.try_get("queue")?,
                    priority: r.try_get("priority")?,
                    attempt: r.try_get("attempt")?,
                    max_attempts: r.try_get("max_attempts")?,
                    created_at: r.try_get("created_at")?,
                },
            ))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    jobs.sort_by_key(|(run_at, j)| (j.priority, *run_at, j.id));
    Ok(jobs.into_iter().map(|(_, j)| j).collect())
}

/// Queues paused now.
pub(crate) async fn paused_queues(s: &PgStore) -> Result<Vec<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT name FROM comptoir_queues WHERE paused ORDER BY name")
            .fetch_all(&s.pool)
            .await?,
    )
}

/// Groups `(id, attempt)` pairs by attempt: a batch nearly always holds one
/// attempt number, and `id = ANY($1) AND attempt = $2` always uses the primary
/// key, where a join against `unnest(ids, attempts)` could be planned as a
/// scan of the whole table per batch.
fn by_attempt(jobs: &[(i64, i32)]) -> std::collections::BTreeMap<i32, Vec<i64>> {
    let mut groups: std::collections::BTreeMap<i32, Vec<i64>> = std::collections::BTreeMap::new();
    for &(id, attempt) in jobs {
        groups.entry(attempt).or_default().push(id);
    }
    groups
}

pub(crate) async fn mark_started(s: &PgStore, worker_id: &str, started: &[(i64, i32)]) -> Result<u64, StoreError> {
    let mut n = 0;
    for (attempt, ids) in by_attempt(started) {
        n += sqlx::query(
            "UPDATE comptoir_jobs SET started_at = now()
             WHERE id = ANY($1) AND attempt = $2 AND locked_by = $3 AND state = 'running' AND started_at IS NULL",
        )
        .bind(&ids)
        .bind(attempt)
        .bind(worker_id)
        .execute(&s.pool)
        .await?
        .rows_affected();
    }
    Ok(n)
}

pub(crate) async fn complete(s: &PgStore, worker_id: &str, done: &[(i64, i32)]) -> Result<Vec<i64>, StoreError> {
    let mut completed = Vec::with_capacity(done.len());
    for (attempt, ids) in by_attempt(done) {
        let rows: Vec<i64> = sqlx::query_scalar(
            "UPDATE comptoir_jobs
             SET state = 'completed', finished_at = now(), updated_at = now(), lease_expires_at = NULL
             WHERE id = ANY($1) AND attempt = $2 AND locked_by = $3 AND state = 'running'
             RETURNING id",
        )
        .bind(&ids)
        .bind(attempt)
        .bind(worker_id)
        .fetch_all(&s.pool)
        .await?;
        completed.extend(rows);
    }
    Ok(completed)
}

pub(crate) async fn finish(
    s: &PgStore,
    worker_id: &str,
    id: i64,
    attempt: i32,
    how: &Finish,
) -> Result<bool, StoreError> {
    // The worker that holds the job, with the attempt it was given, or nothing.
    fn guard(worker_param: u8) -> String {
        format!("WHERE id = $1 AND attempt = $2 AND locked_by = ${worker_param} AND state = 'running'")
    }
    // The attempt's error, with when it started (when its worker claimed it if
    // the start is not recorded yet: starts are written in batches), and for
    // a retry when the next one is due.
    // The attempt's end is never before its start: the start may have been
    // written by a statement that began after this one and held the row
    // first (this statement then reads the row again, but its `now()` is
    // fixed when it began).
    const PUSH_ERROR: &str = "errors = errors || jsonb_build_array(jsonb_build_object(
        'attempt', attempt, 'at', greatest(now(), coalesce(started_at, locked_at)), 'error', $3::text,
        'started_at', coalesce(started_at, locked_at)))";
    const PUSH_RETRY_ERROR: &str = "errors = errors || jsonb_build_array(jsonb_build_object(
        'attempt', attempt, 'at', greatest(now(), coalesce(started_at, locked_at)), 'error', $3::text,
        'started_at', coalesce(started_at, locked_at),
        'retry_at', greatest(now(), coalesce(started_at, locked_at)) + $4 * interval '1 millisecond'))";
    let result = match how {
        Finish::Retry { delay, error } => {
            sqlx::query(&format!(
                "UPDATE comptoir_jobs SET state = 'retryable', run_at = now() + $4 * interval '1 millisecond',
                 {PUSH_RETRY_ERROR}, lease_expires_at = NULL, updated_at = now() {}",
                guard(5)
            ))
            .bind(id)
            .bind(attempt)
            .bind(error.as_str())
            .bind(millis(*delay))
            .bind(worker_id)
            .execute(&s.pool)
            .await?
        }
        Finish::Discard { error: text } | Finish::Cancel { reason: text } => {
            let state = if matches!(how, Finish::Discard { .. }) {
                "discarded"
            } else {
                "cancelled"
            };
            sqlx::query(&format!(
                "UPDATE comptoir_jobs SET state = '{state}', finished_at = now(),
                     {PUSH_ERROR}, lease_expires_at = NULL, updated_at = now() {}",
                guard(4)
            ))
            .bind(id)
            .bind(attempt)
            .bind(text.as_str())
            .bind(worker_id)
            .execute(&s.pool)
            .await?
        }
        Finish::Snooze { delay } => {
            sqlx::query(&format!(
                "UPDATE comptoir_jobs SET state = 'scheduled', attempt = attempt - 1,
                 run_at = now() + $3 * interval '1 millisecond', lease_expires_at = NULL, updated_at = now() {}",
                guard(4)
            ))
            .bind(id)
            .bind(attempt)
            .bind(millis(*delay))
            .bind(worker_id)
            .execute(&s.pool)
            .await?
        }
    };
    Ok(result.rows_affected() == 1)
}

pub(crate) async fn heartbeat(s: &PgStore, worker_id: &str, lease: Duration) -> Result<Vec<i64>, StoreError> {
    let ids = sqlx::query_scalar(
        "UPDATE comptoir_jobs SET lease_expires_at = now() + $2 * interval '1 millisecond'
         WHERE locked_by = $1 AND state = 'running' RETURNING id",
    )
    .bind(worker_id)
    .bind(millis(lease))
    .fetch_all(&s.pool)
    .await?;
    Ok(ids)
}

/// Jobs whose lease expired: a started one becomes retryable (or discarded
/// when it had used its last attempt), with an error for the attempt it lost;
/// one that was only claimed gets its attempt back and is available at once.
pub(crate) async fn rescue(s: &PgStore, limit: i64) -> Result<Vec<i64>, StoreError> {
    let ids = sqlx::query_scalar(
        "WITH expired AS (
             SELECT id FROM comptoir_jobs
             WHERE state = 'running' AND lease_expires_at < now()
             ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED),
         rescued AS (
             UPDATE comptoir_jobs j
             SET state = CASE WHEN j.started_at IS NULL THEN 'available'
                              WHEN j.attempt >= j.max_attempts THEN 'discarded' ELSE 'retryable' END,
                 attempt = CASE WHEN j.started_at IS NULL THEN j.attempt - 1 ELSE j.attempt END,
                 finished_at = CASE WHEN j.started_at IS NOT NULL AND j.attempt >= j.max_attempts THEN now() END,
                 locked_by = CASE WHEN j.started_at IS NULL THEN NULL ELSE j.locked_by END,
                 locked_at = CASE WHEN j.started_at IS NULL THEN NULL ELSE j.locked_at END,
                 run_at = now(), lease_expires_at = NULL, updated_at = now(),
                 errors = CASE WHEN j.started_at IS NULL THEN j.errors
                          ELSE j.errors || jsonb_build_array(jsonb_build_object(
                              'attempt', j.attempt, 'at', now(), 'started_at', j.started_at,
                              'retry_at', CASE WHEN j.attempt < j.max_attempts THEN now() END,
                              'error', 'lease expired: worker ' || coalesce(j.locked_by, '?')
                                       || ' stopped renewing it (killed, frozen or cut off)')) END
             FROM expired WHERE j.id = expired.id
             RETURNING j.id, j.queue, j.state),
         woken AS (
             SELECT pg_notify('comptoir_jobs', q.queue)
             FROM (SELECT DISTINCT queue FROM rescued WHERE state IN ('retryable', 'available')) q)
         SELECT id FROM rescued WHERE (SELECT count(*) FROM woken) >= 0",
    )
    .bind(limit)
    .fetch_all(&s.pool)
    .await?;
    Ok(ids)
}

pub(crate) async fn release(s: &PgStore, worker_id: &str, jobs: &[(i64, i32)]) -> Result<u64, StoreError> {
    let mut total = 0;
    for (attempt, ids) in by_attempt(jobs) {
        let n: i64 = sqlx::query_scalar(
            "WITH released AS (
                 UPDATE comptoir_jobs
                 SET state = 'available', attempt = attempt - 1, locked_by = NULL, locked_at = NULL,
                     lease_expires_at = NULL, updated_at = now()
                 WHERE id = ANY($2) AND attempt = $3 AND locked_by = $1 AND state = 'running'
                 RETURNING queue),
             woken AS (SELECT pg_notify('comptoir_jobs', q.queue) FROM (SELECT DISTINCT queue FROM released) q)
             SELECT count(*) FROM released WHERE (SELECT count(*) FROM woken) >= 0",
        )
        .bind(worker_id)
        .bind(&ids)
        .bind(attempt)
        .fetch_one(&s.pool)
        .await?;
        total += n as u64;
    }
    Ok(total)
}

pub(crate) async fn prune(s: &PgStore, older_than: Duration, limit: i64) -> Result<u64, StoreError> {
    let res = sqlx::query(
        "DELETE FROM comptoir_jobs WHERE id IN (
             SELECT id FROM comptoir_jobs
             WHERE state IN ('completed', 'cancelled', 'discarded')
               AND finished_at < now() - $1 * interval '1 millisecond'
             LIMIT $2)",
    )
    .bind(millis(older_than))
    .bind(limit)
    .execute(&s.pool)
    .await?;
    Ok(res.rows_affected())
}

pub(crate) async fn set_progress(
    s: &PgStore,
    id: i64,
    attempt: i32,
    progress: &serde_json::Value,
) -> Result<bool, StoreError> {
    let res = sqlx::query(
        "UPDATE comptoir_jobs SET progress = $3, updated_at = now()
         WHERE id = $1 AND attempt = $2 AND state = 'running'",
    )
    .bind(id)
    .bind(attempt)
    .bind(progress)
    .execute(&s.pool)
    .await?;
    Ok(res.rows_affected() == 1)
}
