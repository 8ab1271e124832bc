-- What the billing jobs exchange with the outside world.

-- Every e-mail, recorded before it is handed to the transport and updated
-- after: a retried job finds it sent and does not send it twice.
CREATE TABLE emails (
    id              BIGSERIAL PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    to_address      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    transport       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'failed')),
    error           TEXT,
    invoice_id      BIGINT REFERENCES invoices (id),
    payment_id      BIGINT REFERENCES payments (id),
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);
CREATE INDEX emails_invoice ON emails (invoice_id);

-- Generated documents kept for download (livre de recettes exports).
CREATE TABLE documents (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT   NOT NULL,
    period_key   TEXT   NOT NULL,
    format       TEXT   NOT NULL CHECK (format IN ('csv', 'pdf')),
    filename     TEXT   NOT NULL,
    content      BYTEA  NOT NULL,
    sha256       TEXT   NOT NULL,
    job_id       BIGINT,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX documents_kind_period ON documents (kind, period_key, created_at);

-- CSV imports and their per-line report.
CREATE TABLE imports (
    id            BIGSERIAL PRIMARY KEY,
    kind          TEXT   NOT NULL CHECK (kind IN ('customers', 'payments')),
    filename      TEXT   NOT NULL,
    sha256        TEXT   NOT NULL,
    status        TEXT   NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    total_rows    BIGINT NOT NULL DEFAULT 0,
    imported_rows BIGINT NOT NULL DEFAULT 0,
    skipped_rows  BIGINT NOT NULL DEFAULT 0,
    errors        JSONB  NOT NULL DEFAULT '[]',
    job_id        BIGINT,
    created_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ
);
-- One row of the outside world imported once, whatever the file it came in.
CREATE TABLE import_keys (
    key         TEXT PRIMARY KEY,
    entity      TEXT   NOT NULL,
    entity_id   BIGINT NOT NULL,
    import_id   BIGINT NOT NULL REFERENCES imports (id)
);

-- Provider webhooks, each processed once.
CREATE TABLE provider_events (
    id           BIGSERIAL PRIMARY KEY,
    provider     TEXT  NOT NULL,
    event_id     TEXT  NOT NULL,
    event_type   TEXT  NOT NULL,
    payload      JSONB NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    processed_at TIMESTAMPTZ,
    UNIQUE (provider, event_id)
);

-- Where the customer approves a payment (PayPal), kept for the API's answer.
ALTER TABLE payments ADD COLUMN approval_url TEXT;
-- What a refund pays back, when the operator says (else split over the invoice's natures).
ALTER TABLE refunds ADD COLUMN nature TEXT CHECK (nature IN ('goods', 'services'));
