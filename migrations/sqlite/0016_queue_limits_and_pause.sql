-- Issue 14 (queue features): per-key concurrency limits, rate limits and
-- paused queues. See the PostgreSQL migration of the same number.
ALTER TABLE comptoir_jobs ADD COLUMN concurrency_key TEXT;
ALTER TABLE comptoir_jobs ADD COLUMN concurrency_limit INTEGER
    CHECK (concurrency_limit IS NULL OR concurrency_limit > 0);
ALTER TABLE comptoir_jobs ADD COLUMN rate_key TEXT;
ALTER TABLE comptoir_jobs ADD COLUMN rate_limit INTEGER CHECK (rate_limit IS NULL OR rate_limit > 0);
ALTER TABLE comptoir_jobs ADD COLUMN rate_period_ms INTEGER CHECK (rate_period_ms IS NULL OR rate_period_ms > 0);

-- SQLite cannot add a table constraint to an existing table: the pairs are
-- checked by triggers instead.
CREATE TRIGGER comptoir_jobs_limits_insert BEFORE INSERT ON comptoir_jobs
WHEN (NEW.concurrency_key IS NULL) <> (NEW.concurrency_limit IS NULL)
  OR NEW.concurrency_key = ''
  OR (NEW.rate_key IS NULL) <> (NEW.rate_limit IS NULL)
  OR (NEW.rate_key IS NULL) <> (NEW.rate_period_ms IS NULL)
  OR NEW.rate_key = ''
BEGIN
    SELECT RAISE(ABORT, 'comptoir_jobs: a limit needs both its key and its value');
END;

CREATE INDEX comptoir_jobs_claim_limited ON comptoir_jobs (queue, priority, run_at, id)
    WHERE state IN ('available', 'scheduled', 'retryable')
      AND (concurrency_key IS NOT NULL OR rate_key IS NOT NULL);
-- The next due jobs of one key (the claim reads a few per key, never the whole set).
CREATE INDEX comptoir_jobs_claim_concurrency ON comptoir_jobs (concurrency_key, queue, priority, run_at, id)
    WHERE state IN ('available', 'scheduled', 'retryable') AND concurrency_key IS NOT NULL;
CREATE INDEX comptoir_jobs_claim_rate ON comptoir_jobs (rate_key, queue, priority, run_at, id)
    WHERE state IN ('available', 'scheduled', 'retryable') AND rate_key IS NOT NULL;
CREATE INDEX comptoir_jobs_running_key ON comptoir_jobs (concurrency_key)
    WHERE state = 'running' AND concurrency_key IS NOT NULL;

CREATE TABLE comptoir_rate_starts (
    rate_key   TEXT    NOT NULL,
    started_at INTEGER NOT NULL,
    job_id     INTEGER NOT NULL
) STRICT;
CREATE INDEX comptoir_rate_starts_key ON comptoir_rate_starts (rate_key, started_at);

CREATE TABLE comptoir_queues (
    name       TEXT PRIMARY KEY CHECK (name <> ''),
    paused     INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    paused_at  INTEGER,
    paused_by  TEXT,
    updated_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER))
) STRICT;
