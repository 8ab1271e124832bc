-- Sign-in throttling that holds under simultaneous attempts, device cookies
-- and one-time sign-in links.

-- One row per attempt let through to the password check (or per e-mailed
-- link requested), written BEFORE the check in the transaction that counted
-- the window, under a lock on the e-mail and on the address: a row is a
-- failure or an attempt still being checked. A success deletes the rows of
-- its own lane for its e-mail, nothing else.
--   lane 'password'    no device cookie: 5 per e-mail, 20 per address
--   lane 'device:<id>' a valid device cookie of this e-mail: 5 per device
--   lane 'link'        "Mot de passe oublié ?" requests: 3 per e-mail, 20 per address
CREATE TABLE signin_attempts (
    id    BIGSERIAL PRIMARY KEY,
    email TEXT NOT NULL,
    ip    TEXT NOT NULL,
    lane  TEXT NOT NULL,
    at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX signin_attempts_email ON signin_attempts (email, lane, at);
CREATE INDEX signin_attempts_ip ON signin_attempts (ip, lane, at);
CREATE INDEX signin_attempts_at ON signin_attempts (at);

-- The old throttle's failures (recorded after the check) expire within 15
-- minutes: nothing worth carrying over.
DROP TABLE signin_failures;

-- A browser where the operator signed in: the cookie carries a random token,
-- only its SHA-256 is stored.
CREATE TABLE signin_devices (
    id           BIGSERIAL PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    operator_id  BIGINT NOT NULL REFERENCES operators (id),
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX signin_devices_operator ON signin_devices (operator_id);

-- One-time sign-in links (printed by `comptoir-web admin signin-link`, or
-- e-mailed): only the token's SHA-256 is stored; used once.
CREATE TABLE signin_links (
    token_hash  TEXT PRIMARY KEY,
    operator_id BIGINT NOT NULL REFERENCES operators (id),
    via         TEXT NOT NULL CHECK (via IN ('cli', 'email')),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX signin_links_operator ON signin_links (operator_id);
