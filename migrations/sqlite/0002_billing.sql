-- The billing domain. Money: integer minor units + ISO 4217 code.
-- Dates are TEXT 'YYYY-MM-DD'; timestamps TEXT as written by the application.

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
    updated_at         TEXT    NOT NULL
) STRICT;

CREATE TABLE document_series (
    series      TEXT PRIMARY KEY,
    last_number INTEGER NOT NULL CHECK (last_number >= 0)
) STRICT;

CREATE TABLE customers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL CHECK (kind IN ('person', 'business')),
    name       TEXT NOT NULL,
    email      TEXT,
    address    TEXT NOT NULL,
    siren      TEXT,
    created_at TEXT NOT NULL,
    CHECK (kind = 'person' OR siren IS NOT NULL)
) STRICT;

CREATE TABLE products (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    sku              TEXT    NOT NULL UNIQUE,
    name             TEXT    NOT NULL,
    nature           TEXT    NOT NULL CHECK (nature IN ('goods', 'services')),
    unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 0),
    currency         TEXT    NOT NULL,
    active           INTEGER NOT NULL,
    created_at       TEXT    NOT NULL
) STRICT;

CREATE TABLE contracts (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id        INTEGER NOT NULL REFERENCES customers (id),
    status             TEXT    NOT NULL CHECK (status IN ('active', 'suspended', 'cancelled')),
    currency           TEXT    NOT NULL,
    ceiling_minor      INTEGER NOT NULL CHECK (ceiling_minor > 0),
    mandate_reference  TEXT    NOT NULL UNIQUE,
    mandate_signed_on  TEXT    NOT NULL,
    iban               TEXT    NOT NULL,
    mandate_revoked_on TEXT,
    last_debit_on      TEXT,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL
) STRICT;

CREATE TABLE invoices (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind                TEXT    NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    status              TEXT    NOT NULL CHECK (status IN ('draft', 'issued', 'paid', 'cancelled')),
    series              TEXT,
    number              INTEGER,
    reference           TEXT UNIQUE,
    customer_id         INTEGER NOT NULL REFERENCES customers (id),
    contract_id         INTEGER REFERENCES contracts (id),
    order_id            INTEGER,
    period              TEXT,
    currency            TEXT    NOT NULL,
    total_minor         INTEGER NOT NULL CHECK (total_minor >= 0),
    paid_minor          INTEGER NOT NULL DEFAULT 0 CHECK (paid_minor >= 0),
    credited_minor      INTEGER NOT NULL DEFAULT 0 CHECK (credited_minor >= 0),
    issue_date          TEXT,
    due_date            TEXT,
    credited_invoice_id INTEGER REFERENCES invoices (id),
    reason              TEXT,
    snapshot            TEXT,
    sent_at             TEXT,
    created_at          TEXT    NOT NULL,
    UNIQUE (series, number),
    CHECK ((status = 'draft') = (number IS NULL)),
    CHECK (kind = 'invoice' OR credited_invoice_id IS NOT NULL)
) STRICT;
CREATE UNIQUE INDEX invoices_contract_period ON invoices (contract_id, period)
    WHERE kind = 'invoice' AND contract_id IS NOT NULL AND period IS NOT NULL;
CREATE INDEX invoices_customer ON invoices (customer_id, status);

CREATE TABLE invoice_lines (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id       INTEGER NOT NULL REFERENCES invoices (id),
    position         INTEGER NOT NULL,
    description      TEXT    NOT NULL,
    nature           TEXT    NOT NULL CHECK (nature IN ('goods', 'services')),
    quantity         TEXT    NOT NULL,
    unit_price_minor INTEGER NOT NULL,
    total_minor      INTEGER NOT NULL,
    UNIQUE (invoice_id, position)
) STRICT;

CREATE TABLE contract_operations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    contract_id  INTEGER NOT NULL REFERENCES contracts (id),
    kind         TEXT    NOT NULL CHECK (kind IN ('purchase', 'refund')),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency     TEXT    NOT NULL,
    lines        TEXT    NOT NULL CHECK (json_valid(lines)),
    occurred_on  TEXT    NOT NULL,
    invoice_id   INTEGER REFERENCES invoices (id),
    created_at   TEXT    NOT NULL
) STRICT;
CREATE INDEX contract_operations_open ON contract_operations (contract_id) WHERE invoice_id IS NULL;

CREATE TABLE orders (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'paid', 'cancelled', 'expired')),
    currency    TEXT    NOT NULL,
    total_minor INTEGER NOT NULL CHECK (total_minor > 0),
    lines       TEXT    NOT NULL CHECK (json_valid(lines)),
    invoice_id  INTEGER REFERENCES invoices (id),
    created_at  TEXT    NOT NULL
) STRICT;

CREATE TABLE payments (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id        INTEGER NOT NULL REFERENCES customers (id),
    invoice_id         INTEGER REFERENCES invoices (id),
    order_id           INTEGER REFERENCES orders (id),
    provider           TEXT    NOT NULL,
    provider_reference TEXT,
    method             TEXT    NOT NULL CHECK (method IN ('card', 'paypal', 'sepa_debit', 'transfer', 'cheque', 'cash')),
    status             TEXT    NOT NULL
        CHECK (status IN ('initiated', 'pending', 'completed', 'failed', 'refunded', 'partially_refunded')),
    amount_minor       INTEGER NOT NULL CHECK (amount_minor > 0),
    currency           TEXT    NOT NULL,
    fee_minor          INTEGER NOT NULL DEFAULT 0 CHECK (fee_minor >= 0),
    refunded_minor     INTEGER NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
    idempotency_key    TEXT    NOT NULL UNIQUE,
    received_on        TEXT,
    failure_reason     TEXT,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL,
    CHECK (refunded_minor <= amount_minor)
) STRICT;

CREATE TABLE refunds (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id         INTEGER NOT NULL REFERENCES payments (id),
    amount_minor       INTEGER NOT NULL CHECK (amount_minor > 0),
    currency           TEXT    NOT NULL,
    reason             TEXT    NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN ('pending', 'completed', 'failed')),
    credit_note_id     INTEGER REFERENCES invoices (id),
    provider_reference TEXT,
    idempotency_key    TEXT    NOT NULL UNIQUE,
    refunded_on        TEXT,
    created_at         TEXT    NOT NULL
) STRICT;

CREATE TABLE ledger_transactions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    reference  TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE TABLE ledger_entries (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id INTEGER NOT NULL REFERENCES ledger_transactions (id),
    account        TEXT    NOT NULL,
    currency       TEXT    NOT NULL,
    amount_minor   INTEGER NOT NULL
) STRICT;
CREATE INDEX ledger_entries_account ON ledger_entries (account, currency);

CREATE TABLE revenue_book (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    seq                   INTEGER NOT NULL UNIQUE,
    received_on           TEXT    NOT NULL,
    customer_id           INTEGER NOT NULL REFERENCES customers (id),
    client_name           TEXT    NOT NULL,
    nature                TEXT    NOT NULL CHECK (nature IN ('goods', 'services')),
    amount_minor          INTEGER NOT NULL,
    currency              TEXT    NOT NULL,
    method                TEXT    NOT NULL,
    invoice_reference     TEXT    NOT NULL,
    credit_note_reference TEXT,
    payment_id            INTEGER REFERENCES payments (id),
    refund_id             INTEGER REFERENCES refunds (id),
    prev_hash             TEXT    NOT NULL,
    hash                  TEXT    NOT NULL,
    created_at            TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX revenue_book_receipt ON revenue_book (payment_id, nature) WHERE refund_id IS NULL;
CREATE UNIQUE INDEX revenue_book_refund ON revenue_book (refund_id, nature) WHERE refund_id IS NOT NULL;
CREATE INDEX revenue_book_date ON revenue_book (received_on, seq);

CREATE TRIGGER revenue_book_no_update BEFORE UPDATE ON revenue_book
BEGIN SELECT RAISE(ABORT, 'livre de recettes entries are never changed or deleted'); END;
CREATE TRIGGER revenue_book_no_delete BEFORE DELETE ON revenue_book
BEGIN SELECT RAISE(ABORT, 'livre de recettes entries are never changed or deleted'); END;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are never changed or deleted'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are never changed or deleted'); END;

CREATE TRIGGER invoices_no_delete BEFORE DELETE ON invoices WHEN OLD.status <> 'draft'
BEGIN SELECT RAISE(ABORT, 'issued invoice cannot be deleted'); END;
CREATE TRIGGER invoices_immutable BEFORE UPDATE ON invoices
WHEN OLD.status <> 'draft' AND (
    NEW.kind IS NOT OLD.kind OR NEW.series IS NOT OLD.series OR NEW.number IS NOT OLD.number
    OR NEW.reference IS NOT OLD.reference OR NEW.customer_id IS NOT OLD.customer_id
    OR NEW.currency IS NOT OLD.currency OR NEW.total_minor IS NOT OLD.total_minor
    OR NEW.issue_date IS NOT OLD.issue_date OR NEW.due_date IS NOT OLD.due_date
    OR NEW.snapshot IS NOT OLD.snapshot OR NEW.credited_invoice_id IS NOT OLD.credited_invoice_id
    OR NEW.reason IS NOT OLD.reason OR NEW.contract_id IS NOT OLD.contract_id
    OR NEW.order_id IS NOT OLD.order_id OR NEW.period IS NOT OLD.period OR NEW.status = 'draft')
BEGIN SELECT RAISE(ABORT, 'issued invoice is immutable: correct it with a credit note'); END;
CREATE TRIGGER invoice_lines_no_insert BEFORE INSERT ON invoice_lines
WHEN (SELECT status FROM invoices WHERE id = NEW.invoice_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'lines of an issued invoice are immutable'); END;
CREATE TRIGGER invoice_lines_no_update BEFORE UPDATE ON invoice_lines
WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'lines of an issued invoice are immutable'); END;
CREATE TRIGGER invoice_lines_no_delete BEFORE DELETE ON invoice_lines
WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'lines of an issued invoice are immutable'); END;
