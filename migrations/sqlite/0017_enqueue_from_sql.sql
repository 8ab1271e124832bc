-- Issue 14 (queue features): other languages enqueue too. See the
-- PostgreSQL migration of the same number and the README, "Enqueue from
-- another language".
--
-- SQLite has no stored functions: another program enqueues with an INSERT
-- into `comptoir_enqueue`, whose trigger checks the request as the Rust
-- enqueue does (src/jobs/enqueue.rs), fills the kind's defaults from
-- `comptoir_kinds`, inserts the job (or finds the live job holding the
-- unique key) and writes its id back on the request row:
--
--   INSERT INTO comptoir_enqueue (kind, args) VALUES ('noop', '{}');
--   SELECT job_id, duplicate FROM comptoir_enqueue WHERE id = last_insert_rowid();
--
-- The trigger runs in the SQLite library of the program that inserts (a
-- Python or PHP build may be older than Comptoir's): it uses nothing newer
-- than SQLite 3.38 (so no unixepoch('subsec'): times come from julianday).
CREATE TABLE comptoir_kinds (
    kind                TEXT PRIMARY KEY CHECK (kind <> ''),
    queue               TEXT    NOT NULL CHECK (queue <> ''),
    priority            INTEGER NOT NULL,
    max_attempts        INTEGER NOT NULL CHECK (max_attempts > 0),
    concurrency_name    TEXT,
    concurrency_pointer TEXT,
    concurrency_limit   INTEGER,
    rate_name           TEXT,
    rate_pointer        TEXT,
    rate_limit          INTEGER,
    rate_period_ms      INTEGER,
    updated_at          INTEGER NOT NULL,
    CHECK ((concurrency_limit IS NULL AND concurrency_name IS NULL AND concurrency_pointer IS NULL)
        OR (concurrency_limit > 0 AND (concurrency_name IS NULL) = (concurrency_pointer IS NULL)
            AND (concurrency_name IS NULL OR concurrency_name <> ''))),
    CHECK ((rate_limit IS NULL AND rate_period_ms IS NULL AND rate_name IS NULL AND rate_pointer IS NULL)
        OR (rate_limit > 0 AND rate_period_ms > 0 AND (rate_name IS NULL) = (rate_pointer IS NULL)
            AND (rate_name IS NULL OR rate_name <> '')))
) STRICT;

-- Each kind with its limit pointers as SQLite JSON paths (`/customer/id` ->
-- `$."customer"."id"`; every segment is an object member).
CREATE VIEW comptoir_kind_paths AS
SELECT k.*,
       '$."' || replace(replace(replace(substr(concurrency_pointer, 2), '/', '"."'), '~1', '/'), '~0', '~') || '"'
           AS concurrency_path,
       '$."' || replace(replace(replace(substr(rate_pointer, 2), '/', '"."'), '~1', '/'), '~0', '~') || '"'
           AS rate_path
FROM comptoir_kinds AS k;

-- Enqueue requests. `run_at` is integer milliseconds since the Unix epoch,
-- or a text time SQLite reads ('2026-05-01 08:00:00', UTC unless it ends
-- with an offset such as '+02:00'); NULL is now. The other columns left NULL
-- take the kind's defaults. `job_id` and `duplicate` are written by the
-- trigger. Requests are kept one hour.
CREATE TABLE comptoir_enqueue (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT,
    args         TEXT,
    queue        TEXT,
    priority     INTEGER,
    run_at       ANY,
    unique_key   TEXT,
    max_attempts INTEGER,
    job_id       INTEGER,
    duplicate    INTEGER,
    created_at   INTEGER
) STRICT;
CREATE INDEX comptoir_enqueue_created ON comptoir_enqueue (created_at);

CREATE TRIGGER comptoir_enqueue_insert AFTER INSERT ON comptoir_enqueue
BEGIN
    SELECT RAISE(ABORT, 'comptoir_enqueue: job_id, duplicate and created_at are written by Comptoir, leave them out')
    WHERE NEW.job_id IS NOT NULL OR NEW.duplicate IS NOT NULL OR NEW.created_at IS NOT NULL;
    SELECT RAISE(ABORT, 'comptoir_enqueue: kind must not be NULL') WHERE NEW.kind IS NULL;
    SELECT RAISE(ABORT, 'comptoir_enqueue: unknown job kind (the known kinds are in comptoir_kinds, written when comptoir-worker or comptoir-web starts)')
    WHERE NOT EXISTS (SELECT 1 FROM comptoir_kinds WHERE kind = NEW.kind);
    SELECT RAISE(ABORT, 'comptoir_enqueue: args must be a JSON object')
    WHERE NEW.args IS NULL OR NOT json_valid(NEW.args) OR json_type(NEW.args) <> 'object';
    SELECT RAISE(ABORT, 'comptoir_enqueue: queue must be a name of 1 to 100 characters')
    FROM comptoir_kinds AS k
    WHERE k.kind = NEW.kind
      AND (trim(coalesce(NEW.queue, k.queue), char(32, 9, 10, 13, 12, 11)) = ''
           OR length(CAST(coalesce(NEW.queue, k.queue) AS BLOB)) > 100);
    SELECT RAISE(ABORT, 'comptoir_enqueue: priority must be between -32768 and 32767')
    WHERE NEW.priority NOT BETWEEN -32768 AND 32767;
    SELECT RAISE(ABORT, 'comptoir_enqueue: max_attempts must be at least 1 (and below 2^31)')
    WHERE NEW.max_attempts < 1 OR NEW.max_attempts > 2147483647;
    SELECT RAISE(ABORT, 'comptoir_enqueue: unique_key must not be empty (NULL for none)')
    WHERE NEW.unique_key = '';
    SELECT RAISE(ABORT, 'comptoir_enqueue: run_at must be milliseconds since the Unix epoch or a time such as ''2026-05-01 08:00:00'', between the years 1 and 9999')
    WHERE NEW.run_at IS NOT NULL
      AND NOT coalesce(CASE typeof(NEW.run_at)
              WHEN 'integer' THEN NEW.run_at BETWEEN -62135596800000 AND 253402300799999
              WHEN 'text' THEN julianday(NEW.run_at) BETWEEN 1721425.5 AND 5373484.5
              ELSE 0 END, 0);
    SELECT RAISE(ABORT, 'comptoir_enqueue: args have no value (a non-empty string, a number or a boolean) at the pointer of the concurrency limit key (see comptoir_kinds)')
    FROM comptoir_kind_paths AS k
    WHERE k.kind = NEW.kind AND k.concurrency_limit IS NOT NULL AND k.concurrency_name IS NOT NULL
      AND coalesce(json_type(NEW.args, k.concurrency_path) NOT IN ('integer', 'real', 'true', 'false')
                   AND NOT (json_type(NEW.args, k.concurrency_path) = 'text'
                            AND json_extract(NEW.args, k.concurrency_path) <> ''), 1);
    SELECT RAISE(ABORT, 'comptoir_enqueue: args have no value (a non-empty string, a number or a boolean) at the pointer of the rate limit key (see comptoir_kinds)')
    FROM comptoir_kind_paths AS k
    WHERE k.kind = NEW.kind AND k.rate_limit IS NOT NULL AND k.rate_name IS NOT NULL
      AND coalesce(json_type(NEW.args, k.rate_path) NOT IN ('integer', 'real', 'true', 'false')
                   AND NOT (json_type(NEW.args, k.rate_path) = 'text'
                            AND json_extract(NEW.args, k.rate_path) <> ''), 1);

    INSERT INTO comptoir_jobs (kind, args, queue, priority, max_attempts, run_at, state, unique_key,
                               concurrency_key, concurrency_limit, rate_key, rate_limit, rate_period_ms,
                               created_at, updated_at)
    SELECT kind, json(NEW.args), coalesce(NEW.queue, queue), coalesce(NEW.priority, priority),
           coalesce(NEW.max_attempts, max_attempts), due,
           CASE WHEN due > n THEN 'scheduled' ELSE 'available' END, NEW.unique_key,
           CASE WHEN concurrency_limit IS NULL THEN NULL
                WHEN concurrency_name IS NULL THEN 'kind:' || kind
                ELSE concurrency_name || ':' || c_value END,
           concurrency_limit,
           CASE WHEN rate_limit IS NULL THEN NULL
                WHEN rate_name IS NULL THEN 'kind:' || kind
                ELSE rate_name || ':' || r_value END,
           rate_limit, rate_period_ms, n, n
    FROM (SELECT k.*, t.n,
                 CASE typeof(NEW.run_at)
                     WHEN 'null' THEN t.n
                     WHEN 'integer' THEN NEW.run_at
                     ELSE CAST(round((julianday(NEW.run_at) - 2440587.5) * 86400000) AS INTEGER)
                 END AS due,
                 CASE json_type(NEW.args, k.concurrency_path)
                     WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                     ELSE CAST(json_extract(NEW.args, k.concurrency_path) AS TEXT)
                 END AS c_value,
                 CASE json_type(NEW.args, k.rate_path)
                     WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                     ELSE CAST(json_extract(NEW.args, k.rate_path) AS TEXT)
                 END AS r_value
          FROM comptoir_kind_paths AS k,
               (SELECT CAST(round((julianday('now') - 2440587.5) * 86400000) AS INTEGER) AS n) AS t
          WHERE k.kind = NEW.kind)
    WHERE NOT EXISTS (SELECT 1 FROM comptoir_jobs AS j
                      WHERE j.unique_key = NEW.unique_key AND j.state NOT IN ('cancelled', 'discarded'));

    UPDATE comptoir_enqueue
    SET duplicate = changes() = 0,
        job_id = CASE WHEN changes() = 0 OR NEW.unique_key IS NOT NULL
                      THEN (SELECT j.id FROM comptoir_jobs AS j
                            WHERE j.unique_key = NEW.unique_key AND j.state NOT IN ('cancelled', 'discarded'))
                      ELSE last_insert_rowid() END,
        created_at = CAST(round((julianday('now') - 2440587.5) * 86400000) AS INTEGER)
    WHERE id = NEW.id;

    DELETE FROM comptoir_enqueue
    WHERE created_at < CAST(round((julianday('now') - 2440587.5) * 86400000) AS INTEGER) - 3600000;
END;
