-- The jobs table, in the style of delayed_job, with River-like states.
-- Times are integer milliseconds since the Unix epoch, taken from SQLite's clock.
CREATE TABLE comptoir_jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT    NOT NULL,
    args             TEXT    NOT NULL CHECK (json_valid(args)),
    queue            TEXT    NOT NULL DEFAULT 'default',
    priority         INTEGER NOT NULL DEFAULT 0,
    state            TEXT    NOT NULL DEFAULT 'available'
        CHECK (state IN ('available', 'scheduled', 'running', 'retryable', 'completed', 'cancelled', 'discarded')),
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 25 CHECK (max_attempts > 0),
    run_at           INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)),
    locked_by        TEXT,
    locked_at        INTEGER,
    lease_expires_at INTEGER,
    errors           TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(errors)),
    unique_key       TEXT,
    progress         TEXT,
    created_at       INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)),
    updated_at       INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)),
    finished_at      INTEGER
) STRICT;

CREATE INDEX comptoir_jobs_claim ON comptoir_jobs (queue, priority, run_at, id)
    WHERE state IN ('available', 'scheduled', 'retryable');
CREATE INDEX comptoir_jobs_lease ON comptoir_jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX comptoir_jobs_finished ON comptoir_jobs (finished_at)
    WHERE state IN ('completed', 'cancelled', 'discarded');
CREATE INDEX comptoir_jobs_kind ON comptoir_jobs (kind, state);
CREATE UNIQUE INDEX comptoir_jobs_unique ON comptoir_jobs (unique_key)
    WHERE unique_key IS NOT NULL AND state NOT IN ('cancelled', 'discarded');

CREATE TABLE comptoir_workers (
    id           TEXT PRIMARY KEY,
    hostname     TEXT    NOT NULL,
    pid          INTEGER NOT NULL,
    queues       TEXT    NOT NULL,
    mode         TEXT    NOT NULL,
    started_at   INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)),
    last_seen_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER))
) STRICT;
