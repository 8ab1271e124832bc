-- The billing domain. Money: integer minor units + ISO 4217 code.

CREATE TABLE billing_settings (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    seller_name        TEXT    NOT NULL,
    siren              TEXT    NOT NULL,
    address            TEXT    NOT NULL,
    email              TEXT,
    activity           TEXT    NOT NULL CHECK (activity IN ('goods', 'services', 'mixed')),
    vat_mention        TEXT    NOT NULL,
    payment_terms_days INTEGER NOT NULL CHECK (payment_terms_days BETWEEN 0 AND 60),
    late_penalty_rate  TEXT    NOT NULL,
    invoice_prefix     TEXT    NOT NULL,
    credit_note_prefix TEXT    NOT NULL,
    currency           TEXT    NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);

-- One counter per series (e.g. F2026, AV2026): the row lock taken by the
-- increment serialises issuers, and a rollback gives the number back.
CREATE TABLE document_series (
    series      TEXT PRIMARY KEY,
    last_number BIGINT NOT NULL CHECK (last_number >= 0)
);

CREATE TABLE customers (
    id         BIGSERIAL PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('person', 'business')),
    name       TEXT NOT NULL,
    email      TEXT,
    address    TEXT NOT NULL,
    siren      TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    CHECK (kind = 'person' OR siren IS NOT NULL)
);

CREATE TABLE products (
    id               BIGSERIAL PRIMARY KEY,
    sku              TEXT    NOT NULL UNIQUE,
    name             TEXT    NOT NULL,
    nature           TEXT    NOT NULL CHECK (nature IN ('goods', 'services')),
    unit_price_minor BIGINT  NOT NULL CHECK (unit_price_minor >= 0),
    currency         TEXT    NOT NULL,
    active           BOOLEAN NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE contracts (
    id                 BIGSERIAL PRIMARY KEY,
    customer_id        BIGINT NOT NULL REFERENCES customers (id),
    status             TEXT   NOT NULL CHECK (status IN ('active', 'suspended', 'cancelled')),
    currency           TEXT   NOT NULL,
    ceiling_minor      BIGINT NOT NULL CHECK (ceiling_minor > 0),
    mandate_reference  TEXT   NOT NULL UNIQUE,
    mandate_signed_on  DATE   NOT NULL,
    iban               TEXT   NOT NULL,
    mandate_revoked_on DATE,
    last_debit_on      DATE,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE invoices (
    id                  BIGSERIAL PRIMARY KEY,
    kind                TEXT   NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    status              TEXT   NOT NULL CHECK (status IN ('draft', 'issued', 'paid', 'cancelled')),
    series              TEXT,
    number              BIGINT,
    reference           TEXT UNIQUE,
    customer_id         BIGINT NOT NULL REFERENCES customers (id),
    contract_id         BIGINT REFERENCES contracts (id),
    order_id            BIGINT,
    period              TEXT,
    currency            TEXT   NOT NULL,
    total_minor         BIGINT NOT NULL CHECK (total_minor >= 0),
    paid_minor          BIGINT NOT NULL DEFAULT 0 CHECK (paid_minor >= 0),
    credited_minor      BIGINT NOT NULL DEFAULT 0 CHECK (credited_minor >= 0),
    issue_date          DATE,
    due_date            DATE,
    credited_invoice_id BIGINT REFERENCES invoices (id),
    reason              TEXT,
    snapshot            JSONB,
    sent_at             TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL,
    UNIQUE (series, number),
    CHECK ((status = 'draft') = (number IS NULL)),
    CHECK (kind = 'invoice' OR credited_invoice_id IS NOT NULL)
);
-- The monthly run: one invoice per contract and period, never two.
CREATE UNIQUE INDEX invoices_contract_period ON invoices (contract_id, period)
    WHERE kind = 'invoice' AND contract_id IS NOT NULL AND period IS NOT NULL;
CREATE INDEX invoices_customer ON invoices (customer_id, status);

CREATE TABLE invoice_lines (
    id               BIGSERIAL PRIMARY KEY,
    invoice_id       BIGINT NOT NULL REFERENCES invoices (id),
    position         INTEGER NOT NULL,
    description      TEXT   NOT NULL,
    nature           TEXT   NOT NULL CHECK (nature IN ('goods', 'services')),
    quantity         TEXT   NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    total_minor      BIGINT NOT NULL,
    UNIQUE (invoice_id, position)
);

CREATE TABLE contract_operations (
    id           BIGSERIAL PRIMARY KEY,
    contract_id  BIGINT NOT NULL REFERENCES contracts (id),
    kind         TEXT   NOT NULL CHECK (kind IN ('purchase', 'refund')),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency     TEXT   NOT NULL,
    lines        JSONB  NOT NULL,
    occurred_on  DATE   NOT NULL,
    invoice_id   BIGINT REFERENCES invoices (id),
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX contract_operations_open ON contract_operations (contract_id) WHERE invoice_id IS NULL;

CREATE TABLE orders (
    id          BIGSERIAL PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    status      TEXT   NOT NULL CHECK (status IN ('pending', 'paid', 'cancelled', 'expired')),
    currency    TEXT   NOT NULL,
    total_minor BIGINT NOT NULL CHECK (total_minor > 0),
    lines       JSONB  NOT NULL,
    invoice_id  BIGINT REFERENCES invoices (id),
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE payments (
    id                 BIGSERIAL PRIMARY KEY,
    customer_id        BIGINT NOT NULL REFERENCES customers (id),
    invoice_id         BIGINT REFERENCES invoices (id),
    order_id           BIGINT REFERENCES orders (id),
    provider           TEXT   NOT NULL,
    provider_reference TEXT,
    method             TEXT   NOT NULL CHECK (method IN ('card', 'paypal', 'sepa_debit', 'transfer', 'cheque', 'cash')),
    status             TEXT   NOT NULL
        CHECK (status IN ('initiated', 'pending', 'completed', 'failed', 'refunded', 'partially_refunded')),
    amount_minor       BIGINT NOT NULL CHECK (amount_minor > 0),
    currency           TEXT   NOT NULL,
    fee_minor          BIGINT NOT NULL DEFAULT 0 CHECK (fee_minor >= 0),
    refunded_minor     BIGINT NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
    idempotency_key    TEXT   NOT NULL UNIQUE,
    received_on        DATE,
    failure_reason     TEXT,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    CHECK (refunded_minor <= amount_minor)
);

CREATE TABLE refunds (
    id                 BIGSERIAL PRIMARY KEY,
    payment_id         BIGINT NOT NULL REFERENCES payments (id),
    amount_minor       BIGINT NOT NULL CHECK (amount_minor > 0),
    currency           TEXT   NOT NULL,
    reason             TEXT   NOT NULL,
    status             TEXT   NOT NULL CHECK (status IN ('pending', 'completed', 'failed')),
    credit_note_id     BIGINT REFERENCES invoices (id),
    provider_reference TEXT,
    idempotency_key    TEXT   NOT NULL UNIQUE,
    refunded_on        DATE,
    created_at         TIMESTAMPTZ NOT NULL
);

-- Double-entry ledger: each transaction's entries sum to zero per currency
-- (debits positive, credits negative).
CREATE TABLE ledger_transactions (
    id         BIGSERIAL PRIMARY KEY,
    kind       TEXT NOT NULL,
    reference  TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE ledger_entries (
    id             BIGSERIAL PRIMARY KEY,
    transaction_id BIGINT NOT NULL REFERENCES ledger_transactions (id),
    account        TEXT   NOT NULL,
    currency       TEXT   NOT NULL,
    amount_minor   BIGINT NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries (account, currency);

-- Livre de recettes: append-only, each line chained to the previous by hash.
CREATE TABLE revenue_book (
    id                    BIGSERIAL PRIMARY KEY,
    seq                   BIGINT NOT NULL UNIQUE,
    received_on           DATE   NOT NULL,
    customer_id           BIGINT NOT NULL REFERENCES customers (id),
    client_name           TEXT   NOT NULL,
    nature                TEXT   NOT NULL CHECK (nature IN ('goods', 'services')),
    amount_minor          BIGINT NOT NULL,
    currency              TEXT   NOT NULL,
    method                TEXT   NOT NULL,
    invoice_reference     TEXT   NOT NULL,
    credit_note_reference TEXT,
    payment_id            BIGINT REFERENCES payments (id),
    refund_id             BIGINT REFERENCES refunds (id),
    prev_hash             TEXT   NOT NULL,
    hash                  TEXT   NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX revenue_book_receipt ON revenue_book (payment_id, nature) WHERE refund_id IS NULL;
CREATE UNIQUE INDEX revenue_book_refund ON revenue_book (refund_id, nature) WHERE refund_id IS NOT NULL;
CREATE INDEX revenue_book_date ON revenue_book (received_on, seq);

CREATE FUNCTION comptoir_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'check_violation';
END;
$$;
CREATE TRIGGER revenue_book_no_update BEFORE UPDATE OR DELETE ON revenue_book
    FOR EACH ROW EXECUTE FUNCTION comptoir_refuse_change('livre de recettes entries are never changed or deleted');
CREATE TRIGGER revenue_book_no_truncate BEFORE TRUNCATE ON revenue_book
    FOR EACH STATEMENT EXECUTE FUNCTION comptoir_refuse_change('livre de recettes entries are never changed or deleted');
CREATE TRIGGER ledger_entries_no_change BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION comptoir_refuse_change('ledger entries are never changed or deleted');

-- An issued invoice (or credit note) is never edited or deleted: only its
-- status (paid, cancelled), what was paid or credited, and when it was sent move.
CREATE FUNCTION invoices_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'issued invoice % cannot be deleted', OLD.reference USING ERRCODE = 'check_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft' AND (
        NEW.kind IS DISTINCT FROM OLD.kind OR NEW.series IS DISTINCT FROM OLD.series
        OR NEW.number IS DISTINCT FROM OLD.number OR NEW.reference IS DISTINCT FROM OLD.reference
        OR NEW.customer_id IS DISTINCT FROM OLD.customer_id OR NEW.currency IS DISTINCT FROM OLD.currency
        OR NEW.total_minor IS DISTINCT FROM OLD.total_minor OR NEW.issue_date IS DISTINCT FROM OLD.issue_date
        OR NEW.due_date IS DISTINCT FROM OLD.due_date OR NEW.snapshot IS DISTINCT FROM OLD.snapshot
        OR NEW.credited_invoice_id IS DISTINCT FROM OLD.credited_invoice_id OR NEW.reason IS DISTINCT FROM OLD.reason
        OR NEW.contract_id IS DISTINCT FROM OLD.contract_id OR NEW.order_id IS DISTINCT FROM OLD.order_id
        OR NEW.period IS DISTINCT FROM OLD.period OR NEW.status = 'draft') THEN
        RAISE EXCEPTION 'issued invoice % is immutable: correct it with a credit note', OLD.reference
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER invoices_guard BEFORE UPDATE OR DELETE ON invoices FOR EACH ROW EXECUTE FUNCTION invoices_guard();

CREATE FUNCTION invoice_lines_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent BIGINT := CASE WHEN TG_OP = 'DELETE' THEN OLD.invoice_id ELSE NEW.invoice_id END;
BEGIN
    IF EXISTS (SELECT 1 FROM invoices WHERE id = parent AND status <> 'draft') THEN
        RAISE EXCEPTION 'lines of an issued invoice are immutable' USING ERRCODE = 'check_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$;
CREATE TRIGGER invoice_lines_guard BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION invoice_lines_guard();
