-- Bank statements (issue 16): see the PostgreSQL migration for the comments.
CREATE TABLE bank_entries (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_key           TEXT    NOT NULL UNIQUE,
    import_id           INTEGER NOT NULL REFERENCES imports (id),
    line                INTEGER NOT NULL,
    source              TEXT    NOT NULL CHECK (source IN ('camt053', 'csv')),
    kind                TEXT    NOT NULL CHECK (kind IN ('credit', 'reversal')),
    account             TEXT,
    booking_date        TEXT    NOT NULL,
    value_date          TEXT,
    amount_minor        INTEGER NOT NULL CHECK (amount_minor > 0),
    currency            TEXT    NOT NULL,
    payer_name          TEXT,
    payer_iban          TEXT,
    remittance          TEXT    NOT NULL,
    creditor_reference  TEXT,
    bank_reference      TEXT,
    method              TEXT    NOT NULL,
    status              TEXT    NOT NULL
                        CHECK (status IN ('waiting', 'matched', 'confirmed', 'not_sale', 'ignored')),
    waiting_reason      TEXT,
    excess_minor        INTEGER NOT NULL DEFAULT 0 CHECK (excess_minor >= 0),
    note                TEXT,
    decided_by          TEXT,
    decided_at          TEXT,
    created_at          TEXT    NOT NULL
) STRICT;
CREATE INDEX bank_entries_status ON bank_entries (status, booking_date);

CREATE TABLE bank_entry_payments (
    entry_id    INTEGER NOT NULL REFERENCES bank_entries (id),
    payment_id  INTEGER NOT NULL UNIQUE REFERENCES payments (id),
    PRIMARY KEY (entry_id, payment_id)
) STRICT;
