-- Issue 14: named locks that a pooler in transaction mode can hold.
--
-- Behind PgBouncer in transaction mode a session advisory lock may be taken
-- on one server connection and outlive its holder there, so the drain guard
-- (two cron drains never overlap) becomes a row: taken when absent or when its
-- lease ran out, renewed by its holder while held, deleted when released. A
-- holder killed outright keeps it until `expires_at` (by the database clock).
CREATE TABLE comptoir_locks (
    name       TEXT PRIMARY KEY CHECK (name <> ''),
    holder     TEXT        NOT NULL,
    taken_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL
);
