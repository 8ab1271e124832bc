-- Sign-in throttling that holds under simultaneous attempts, device cookies
-- and one-time sign-in links (see the PostgreSQL migration for the comments).
-- On SQLite the count and the insert share a BEGIN IMMEDIATE transaction:
-- writers are serialised by the database itself.

CREATE TABLE signin_attempts (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    ip    TEXT NOT NULL,
    lane  TEXT NOT NULL,
    at    TEXT NOT NULL
) STRICT;
CREATE INDEX signin_attempts_email ON signin_attempts (email, lane, at);
CREATE INDEX signin_attempts_ip ON signin_attempts (ip, lane, at);
CREATE INDEX signin_attempts_at ON signin_attempts (at);

DROP TABLE signin_failures;

CREATE TABLE signin_devices (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash   TEXT NOT NULL UNIQUE,
    operator_id  INTEGER NOT NULL REFERENCES operators (id),
    created_at   TEXT NOT NULL,
    last_used_at TEXT NOT NULL
) STRICT;
CREATE INDEX signin_devices_operator ON signin_devices (operator_id);

CREATE TABLE signin_links (
    token_hash  TEXT PRIMARY KEY,
    operator_id INTEGER NOT NULL REFERENCES operators (id),
    via         TEXT NOT NULL CHECK (via IN ('cli', 'email')),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
) STRICT;
CREATE INDEX signin_links_operator ON signin_links (operator_id);
