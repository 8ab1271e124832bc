-- Issue 13 (the admin, invoices part): units on lines and products, and what
-- each customer receives by e-mail.

-- The unit a quantity is counted in (UN/ECE rec. 20 code, e.g. HUR for hours);
-- none: a piece for goods, a unit of service for services, as before.
ALTER TABLE invoice_lines ADD COLUMN unit TEXT;
ALTER TABLE products ADD COLUMN unit TEXT;

-- Whether invoices, receipts and credit notes are e-mailed to the customer
-- when they are made. No row: all three are, as before.
CREATE TABLE customer_mailing (
    customer_id  BIGINT PRIMARY KEY REFERENCES customers (id),
    invoices     BOOLEAN NOT NULL,
    receipts     BOOLEAN NOT NULL,
    credit_notes BOOLEAN NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
