-- Bank statements (issue 16): the credits read from a bank's statement
-- (camt.053 or a CSV export), each kept once by the bank's own reference, and
-- what became of it.
--
-- A credit that names one issued invoice and pays exactly what it owes
-- becomes a payment at once ('matched'); any other credit waits for the
-- operator ('waiting'), who confirms it against one invoice or splits it
-- across several ('confirmed'), marks it as not a sale (a loan, a supplier's
-- refund: 'not_sale') or ignores it ('ignored'). A reversal (the bank taking
-- back a credit) always waits. Debits are not kept: they are not receipts.
CREATE TABLE bank_entries (
    id                  BIGSERIAL PRIMARY KEY,
    -- The bank's reference of the entry, qualified by the account (camt.053),
    -- or a hash of the row (CSV): a statement imported twice adds nothing.
    entry_key           TEXT        NOT NULL UNIQUE,
    import_id           BIGINT      NOT NULL REFERENCES imports (id),
    line                BIGINT      NOT NULL,
    source              TEXT        NOT NULL CHECK (source IN ('camt053', 'csv')),
    kind                TEXT        NOT NULL CHECK (kind IN ('credit', 'reversal')),
    account             TEXT,
    booking_date        DATE        NOT NULL,
    value_date          DATE,
    amount_minor        BIGINT      NOT NULL CHECK (amount_minor > 0),
    currency            TEXT        NOT NULL,
    payer_name          TEXT,
    payer_iban          TEXT,
    remittance          TEXT        NOT NULL,
    creditor_reference  TEXT,
    bank_reference      TEXT,
    method              TEXT        NOT NULL,
    status              TEXT        NOT NULL
                        CHECK (status IN ('waiting', 'matched', 'confirmed', 'not_sale', 'ignored')),
    -- Why it waits, in the operator's words.
    waiting_reason      TEXT,
    -- What an overpayment left over once the invoices were paid.
    excess_minor        BIGINT      NOT NULL DEFAULT 0 CHECK (excess_minor >= 0),
    note                TEXT,
    decided_by          TEXT,
    decided_at          TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX bank_entries_status ON bank_entries (status, booking_date);

-- The payments a credit became (several when split across invoices).
CREATE TABLE bank_entry_payments (
    entry_id    BIGINT NOT NULL REFERENCES bank_entries (id),
    payment_id  BIGINT NOT NULL UNIQUE REFERENCES payments (id),
    PRIMARY KEY (entry_id, payment_id)
);
