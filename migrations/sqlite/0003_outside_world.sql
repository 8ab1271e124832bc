-- What the billing jobs exchange with the outside world.

CREATE TABLE emails (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    to_address      TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    message_id      TEXT    NOT NULL,
    transport       TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('sending', 'sent', 'failed')),
    error           TEXT,
    invoice_id      INTEGER REFERENCES invoices (id),
    payment_id      INTEGER REFERENCES payments (id),
    created_at      TEXT    NOT NULL,
    sent_at         TEXT
) STRICT;
CREATE INDEX emails_invoice ON emails (invoice_id);

CREATE TABLE documents (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL,
    period_key   TEXT    NOT NULL,
    format       TEXT    NOT NULL CHECK (format IN ('csv', 'pdf')),
    filename     TEXT    NOT NULL,
    content      BLOB    NOT NULL,
    sha256       TEXT    NOT NULL,
    job_id       INTEGER,
    created_at   TEXT    NOT NULL
) STRICT;
CREATE INDEX documents_kind_period ON documents (kind, period_key, created_at);

CREATE TABLE imports (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT    NOT NULL CHECK (kind IN ('customers', 'payments')),
    filename      TEXT    NOT NULL,
    sha256        TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    total_rows    INTEGER NOT NULL DEFAULT 0,
    imported_rows INTEGER NOT NULL DEFAULT 0,
    skipped_rows  INTEGER NOT NULL DEFAULT 0,
    errors        TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(errors)),
    job_id        INTEGER,
    created_at    TEXT    NOT NULL,
    finished_at   TEXT
) STRICT;
CREATE TABLE import_keys (
    key         TEXT PRIMARY KEY,
    entity      TEXT    NOT NULL,
    entity_id   INTEGER NOT NULL,
    import_id   INTEGER NOT NULL REFERENCES imports (id)
) STRICT;

CREATE TABLE provider_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    provider     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    payload      TEXT NOT NULL CHECK (json_valid(payload)),
    received_at  TEXT NOT NULL,
    processed_at TEXT,
    UNIQUE (provider, event_id)
) STRICT;

ALTER TABLE payments ADD COLUMN approval_url TEXT;
-- What a refund pays back, when the operator says (else split over the invoice's natures).
ALTER TABLE refunds ADD COLUMN nature TEXT CHECK (nature IN ('goods', 'services'));
