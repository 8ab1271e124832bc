-- The data the law and EN 16931 need, structured (issue 10; see the
-- PostgreSQL migration for the comments). The last part of a free-text
-- address (after its last line break or ", ") is found by cutting the text
-- at each break in turn, ", " read as ",\n" and given back after.

ALTER TABLE customers ADD COLUMN postcode TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN city TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN electronic_address TEXT;
ALTER TABLE customers ADD COLUMN electronic_address_scheme TEXT;

WITH RECURSIVE cut(id, head, rest) AS (
    SELECT id, '', replace(address, ', ', ',' || char(10)) FROM customers
    UNION ALL
    SELECT id, head || substr(rest, 1, instr(rest, char(10))), substr(rest, instr(rest, char(10)) + 1)
    FROM cut WHERE instr(rest, char(10)) > 0
),
last_line(id, head, line) AS (SELECT id, head, rest FROM cut WHERE instr(rest, char(10)) = 0)
UPDATE customers SET
    address = rtrim(replace(last_line.head, ',' || char(10), ', '), ', ' || char(10)),
    postcode = substr(last_line.line, 1, 5),
    city = trim(substr(last_line.line, 7)),
    country = 'FR'
FROM last_line
WHERE customers.id = last_line.id
  AND last_line.line GLOB '[0-9][0-9][0-9][0-9][0-9] *'
  AND trim(substr(last_line.line, 7)) <> '' AND instr(last_line.line, ',') = 0;

UPDATE customers SET electronic_address = siren, electronic_address_scheme = '0225'
WHERE kind = 'business' AND siren IS NOT NULL;

ALTER TABLE billing_settings ADD COLUMN postcode TEXT NOT NULL DEFAULT '';
ALTER TABLE billing_settings ADD COLUMN city TEXT NOT NULL DEFAULT '';
ALTER TABLE billing_settings ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE billing_settings ADD COLUMN electronic_address TEXT;
ALTER TABLE billing_settings ADD COLUMN electronic_address_scheme TEXT NOT NULL DEFAULT '0225';
ALTER TABLE billing_settings ADD COLUMN iban TEXT;
ALTER TABLE billing_settings ADD COLUMN bic TEXT;
ALTER TABLE billing_settings ADD COLUMN vat_regime TEXT NOT NULL DEFAULT 'franchise'
    CHECK (vat_regime IN ('franchise'));
ALTER TABLE billing_settings ADD COLUMN late_penalty_percent TEXT;
ALTER TABLE billing_settings ADD COLUMN discount_terms TEXT;

WITH RECURSIVE cut(id, head, rest) AS (
    SELECT id, '', replace(address, ', ', ',' || char(10)) FROM billing_settings
    UNION ALL
    SELECT id, head || substr(rest, 1, instr(rest, char(10))), substr(rest, instr(rest, char(10)) + 1)
    FROM cut WHERE instr(rest, char(10)) > 0
),
last_line(id, head, line) AS (SELECT id, head, rest FROM cut WHERE instr(rest, char(10)) = 0)
UPDATE billing_settings SET
    address = rtrim(replace(last_line.head, ',' || char(10), ', '), ', ' || char(10)),
    postcode = substr(last_line.line, 1, 5),
    city = trim(substr(last_line.line, 7)),
    country = 'FR'
FROM last_line
WHERE billing_settings.id = last_line.id
  AND last_line.line GLOB '[0-9][0-9][0-9][0-9][0-9] *'
  AND trim(substr(last_line.line, 7)) <> '' AND instr(last_line.line, ',') = 0;
UPDATE billing_settings SET electronic_address = siren;

ALTER TABLE invoices ADD COLUMN service_date TEXT;
ALTER TABLE invoices ADD COLUMN service_period_start TEXT;
ALTER TABLE invoices ADD COLUMN service_period_end TEXT;
ALTER TABLE invoices ADD COLUMN purchase_order TEXT;
ALTER TABLE invoices ADD COLUMN delivery_address TEXT;

CREATE TRIGGER invoices_details_immutable BEFORE UPDATE OF
    service_date, service_period_start, service_period_end, purchase_order, delivery_address ON invoices
WHEN OLD.status <> 'draft' AND (
    NEW.service_date IS NOT OLD.service_date OR NEW.service_period_start IS NOT OLD.service_period_start
    OR NEW.service_period_end IS NOT OLD.service_period_end OR NEW.purchase_order IS NOT OLD.purchase_order
    OR NEW.delivery_address IS NOT OLD.delivery_address)
BEGIN SELECT RAISE(ABORT, 'issued invoice is immutable: correct it with a credit note'); END;
