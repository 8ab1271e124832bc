-- The admin: operators, their sessions, API keys, sign-in throttling, the
-- one-time setup link, API idempotency, and the audit log.

CREATE TABLE operators (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,          -- stored lowercase
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,                 -- argon2id, PHC string
    created_at    TIMESTAMPTZ NOT NULL,
    disabled_at   TIMESTAMPTZ
);

-- The cookie carries a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    operator_id  BIGINT NOT NULL REFERENCES operators (id),
    csrf_token   TEXT NOT NULL,
    ip           TEXT NOT NULL,
    user_agent   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_operator ON sessions (operator_id);

CREATE TABLE signin_failures (
    id    BIGSERIAL PRIMARY KEY,
    email TEXT NOT NULL,
    ip    TEXT NOT NULL,
    at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX signin_failures_email ON signin_failures (email, at);
CREATE INDEX signin_failures_ip ON signin_failures (ip, at);

-- The link printed on first start, when no operator exists yet.
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);

-- API keys look like `ck_<prefix>_<secret>`; the prefix finds the row, the
-- SHA-256 of the whole key proves it.
CREATE TABLE api_keys (
    id           BIGSERIAL PRIMARY KEY,
    operator_id  BIGINT NOT NULL REFERENCES operators (id),
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL UNIQUE,
    key_hash     TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX api_keys_operator ON api_keys (operator_id);

-- An API request repeated with the same Idempotency-Key gets the first answer.
CREATE TABLE api_requests (
    api_key_id      BIGINT NOT NULL REFERENCES api_keys (id),
    idempotency_key TEXT   NOT NULL,
    request_hash    TEXT   NOT NULL,
    status          INTEGER,
    response        JSONB,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (api_key_id, idempotency_key)
);

-- Every admin and API action: who, what, when, from where. Never changed.
CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    operator_id BIGINT REFERENCES operators (id),
    actor       TEXT  NOT NULL,
    action      TEXT  NOT NULL,
    target      TEXT  NOT NULL,
    details     JSONB NOT NULL DEFAULT '{}',
    ip          TEXT  NOT NULL
);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION comptoir_refuse_change('audit log entries are never changed or deleted');
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION comptoir_refuse_change('audit log entries are never changed or deleted');
