-- Issue 13 (the admin, invoices part): see the PostgreSQL migration for the comments.
ALTER TABLE invoice_lines ADD COLUMN unit TEXT;
ALTER TABLE products ADD COLUMN unit TEXT;

CREATE TABLE customer_mailing (
    customer_id  INTEGER PRIMARY KEY REFERENCES customers (id),
    invoices     INTEGER NOT NULL,
    receipts     INTEGER NOT NULL,
    credit_notes INTEGER NOT NULL,
    updated_at   TEXT    NOT NULL
) STRICT;
