-- The jobs table, in the style of delayed_job, with River-like states.
CREATE TABLE comptoir_jobs (
    id               BIGSERIAL PRIMARY KEY,
    kind             TEXT        NOT NULL,
    args             JSONB       NOT NULL,
    queue            TEXT        NOT NULL DEFAULT 'default',
    priority         SMALLINT    NOT NULL DEFAULT 0,
    state            TEXT        NOT NULL DEFAULT 'available'
        CHECK (state IN ('available', 'scheduled', 'running', 'retryable', 'completed', 'cancelled', 'discarded')),
    attempt          INTEGER     NOT NULL DEFAULT 0,
    max_attempts     INTEGER     NOT NULL DEFAULT 25 CHECK (max_attempts > 0),
    run_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    locked_by        TEXT,
    locked_at        TIMESTAMPTZ,
    lease_expires_at TIMESTAMPTZ,
    errors           JSONB       NOT NULL DEFAULT '[]',
    unique_key       TEXT,
    progress         JSONB,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at      TIMESTAMPTZ
);

-- What a worker claims: due jobs of one queue, most urgent first.
CREATE INDEX comptoir_jobs_claim ON comptoir_jobs (queue, priority, run_at, id)
    WHERE state IN ('available', 'scheduled', 'retryable');
-- What the rescuer scans.
CREATE INDEX comptoir_jobs_lease ON comptoir_jobs (lease_expires_at) WHERE state = 'running';
-- What the pruner scans.
CREATE INDEX comptoir_jobs_finished ON comptoir_jobs (finished_at)
    WHERE state IN ('completed', 'cancelled', 'discarded');
CREATE INDEX comptoir_jobs_kind ON comptoir_jobs (kind, state);
-- A unique key blocks a duplicate while a job holding it is alive or completed;
-- cancelling or discarding a job frees its key.
CREATE UNIQUE INDEX comptoir_jobs_unique ON comptoir_jobs (unique_key)
    WHERE unique_key IS NOT NULL AND state NOT IN ('cancelled', 'discarded');

-- Wake idle workers at commit time, whoever inserted the jobs (even plain SQL).
CREATE FUNCTION comptoir_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('comptoir_jobs', q.queue)
    FROM (SELECT DISTINCT queue FROM inserted WHERE state = 'available') AS q;
    RETURN NULL;
END;
$$;
CREATE TRIGGER comptoir_jobs_notify AFTER INSERT ON comptoir_jobs
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION comptoir_jobs_notify();

-- Live worker processes, renewed by their heartbeat.
CREATE TABLE comptoir_workers (
    id           TEXT PRIMARY KEY,
    hostname     TEXT        NOT NULL,
    pid          INTEGER     NOT NULL,
    queues       TEXT        NOT NULL,
    mode         TEXT        NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
