-- Issue 14: named locks that a pooler in transaction mode can hold. See the
-- PostgreSQL migration of the same number: SQLite keeps its file locks and
-- never uses this table, which is here so that both backends' versions align.
CREATE TABLE comptoir_locks (
    name       TEXT PRIMARY KEY CHECK (name <> ''),
    holder     TEXT    NOT NULL,
    taken_at   INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)),
    expires_at INTEGER NOT NULL
) STRICT;
