-- Issue 14 (queue features): batches with a callback.
--
-- A batch groups jobs enqueued together; once it is sealed (no job may join
-- any more) and every one of its jobs has finished (completed, cancelled or
-- discarded), its callback job is enqueued, once: the closer locks the batch
-- row, inserts the callback (unique key `batch:<id>`) and sets `finished_at`
-- in one transaction. The callback is described here until then; its args
-- already hold the batch's id when the kind asks for it.
CREATE TABLE comptoir_batches (
    id                    BIGSERIAL PRIMARY KEY,
    callback_kind         TEXT        NOT NULL CHECK (callback_kind <> ''),
    callback_args         JSONB       NOT NULL DEFAULT '{}',
    callback_queue        TEXT        NOT NULL CHECK (callback_queue <> ''),
    callback_priority     SMALLINT    NOT NULL DEFAULT 0,
    callback_max_attempts INTEGER     NOT NULL CHECK (callback_max_attempts > 0),
    -- The callback's concurrency and rate limits, as computed when the batch
    -- was opened (`{"concurrency": {...}, "rate": {...}}`), if any.
    callback_limits       JSONB,
    -- Jobs that joined the batch.
    size                  INTEGER     NOT NULL DEFAULT 0 CHECK (size >= 0),
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- No job joins a sealed batch.
    sealed_at             TIMESTAMPTZ,
    -- When the callback was enqueued (the batch is closed), and its job; the
    -- job may be pruned later: no foreign key, `finished_at` says closed.
    finished_at           TIMESTAMPTZ,
    callback_job_id       BIGINT,
    CHECK (finished_at IS NULL OR sealed_at IS NOT NULL)
);
-- What the closer looks at: batches not closed yet (few at any time).
CREATE INDEX comptoir_batches_open ON comptoir_batches (id) WHERE finished_at IS NULL;
-- A callback job finds its batch.
CREATE INDEX comptoir_batches_callback ON comptoir_batches (callback_job_id) WHERE callback_job_id IS NOT NULL;

ALTER TABLE comptoir_jobs ADD COLUMN batch_id BIGINT REFERENCES comptoir_batches (id) ON DELETE SET NULL;
-- A batch's jobs, and whether one of them has not finished: one probe per state.
CREATE INDEX comptoir_jobs_batch ON comptoir_jobs (batch_id, state) WHERE batch_id IS NOT NULL;
