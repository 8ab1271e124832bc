-- Issue 14 (queue features): batches with a callback. See the PostgreSQL
-- migration of the same number.
CREATE TABLE comptoir_batches (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    callback_kind         TEXT    NOT NULL CHECK (callback_kind <> ''),
    callback_args         TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(callback_args)),
    callback_queue        TEXT    NOT NULL CHECK (callback_queue <> ''),
    callback_priority     INTEGER NOT NULL DEFAULT 0,
    callback_max_attempts INTEGER NOT NULL CHECK (callback_max_attempts > 0),
    callback_limits       TEXT    CHECK (callback_limits IS NULL OR json_valid(callback_limits)),
    size                  INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
    created_at            INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)),
    sealed_at             INTEGER,
    finished_at           INTEGER,
    callback_job_id       INTEGER,
    CHECK (finished_at IS NULL OR sealed_at IS NOT NULL)
) STRICT;
CREATE INDEX comptoir_batches_open ON comptoir_batches (id) WHERE finished_at IS NULL;
CREATE INDEX comptoir_batches_callback ON comptoir_batches (callback_job_id) WHERE callback_job_id IS NOT NULL;

ALTER TABLE comptoir_jobs ADD COLUMN batch_id INTEGER REFERENCES comptoir_batches (id) ON DELETE SET NULL;
CREATE INDEX comptoir_jobs_batch ON comptoir_jobs (batch_id, state) WHERE batch_id IS NOT NULL;
