-- Issue 14 (queue features): per-key concurrency limits, rate limits and
-- paused queues.
--
-- A job may carry a concurrency key (at most `concurrency_limit` jobs of that
-- key run at once, across every worker) and a rate key (at most `rate_limit`
-- starts per `rate_period_ms`, across every worker). Both are copied onto the
-- row when it is enqueued (from its kind's declaration or the enqueue's
-- options), so a worker needs nothing but the row to honour them.
ALTER TABLE comptoir_jobs
    ADD COLUMN concurrency_key   TEXT,
    ADD COLUMN concurrency_limit INTEGER,
    ADD COLUMN rate_key          TEXT,
    ADD COLUMN rate_limit        INTEGER,
    ADD COLUMN rate_period_ms    BIGINT,
    ADD CONSTRAINT comptoir_jobs_concurrency CHECK (
        (concurrency_key IS NULL AND concurrency_limit IS NULL)
        OR (concurrency_key <> '' AND concurrency_limit > 0)),
    ADD CONSTRAINT comptoir_jobs_rate CHECK (
        (rate_key IS NULL AND rate_limit IS NULL AND rate_period_ms IS NULL)
        OR (rate_key <> '' AND rate_limit > 0 AND rate_period_ms > 0));

-- Due jobs that carry a limit: the claim's second path reads only these.
CREATE INDEX comptoir_jobs_claim_limited ON comptoir_jobs (queue, priority, run_at, id)
    WHERE state IN ('available', 'scheduled', 'retryable')
      AND (concurrency_key IS NOT NULL OR rate_key IS NOT NULL);
-- The next due jobs of one key (the claim reads a few per key, never the whole set).
CREATE INDEX comptoir_jobs_claim_concurrency ON comptoir_jobs (concurrency_key, queue, priority, run_at, id)
    WHERE state IN ('available', 'scheduled', 'retryable') AND concurrency_key IS NOT NULL;
CREATE INDEX comptoir_jobs_claim_rate ON comptoir_jobs (rate_key, queue, priority, run_at, id)
    WHERE state IN ('available', 'scheduled', 'retryable') AND rate_key IS NOT NULL;
-- How many of a key run now.
CREATE INDEX comptoir_jobs_running_key ON comptoir_jobs (concurrency_key)
    WHERE state = 'running' AND concurrency_key IS NOT NULL;

-- Starts granted under a rate key, kept for one period (the window slides).
CREATE TABLE comptoir_rate_starts (
    rate_key   TEXT        NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    job_id     BIGINT      NOT NULL
);
CREATE INDEX comptoir_rate_starts_key ON comptoir_rate_starts (rate_key, started_at);

-- A paused queue keeps accepting jobs; no worker starts one until it is resumed.
CREATE TABLE comptoir_queues (
    name       TEXT PRIMARY KEY CHECK (name <> ''),
    paused     BOOLEAN     NOT NULL DEFAULT false,
    paused_at  TIMESTAMPTZ,
    paused_by  TEXT,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
