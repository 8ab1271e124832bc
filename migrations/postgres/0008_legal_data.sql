-- The data the law and EN 16931 need, structured (issue 10).
--
-- Addresses get parts: `address` now holds the street lines only (LF
-- between them), beside postcode, city and ISO 3166-1 country. Existing
-- free-text addresses keep every line; when the last line, or its last part
-- after ", " (as the CSV import joined them), reads "75011 Paris", that
-- part becomes the postcode and the city (no comma in it), country FR, as
-- `PostalAddress::from_legacy` does. Otherwise postcode, city and country
-- stay empty until the operator completes them (the forms require them).
--
-- Issued invoices are not touched: their snapshot keeps the texts they
-- printed, and their new columns stay empty.

ALTER TABLE customers ADD COLUMN postcode TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN city TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN country TEXT NOT NULL DEFAULT '';
-- Where the customer receives e-invoices (EN 16931 BT-49) and its scheme:
-- "0225" (SIREN, the French directory), "EM" (e-mail)…
ALTER TABLE customers ADD COLUMN electronic_address TEXT;
ALTER TABLE customers ADD COLUMN electronic_address_scheme TEXT;

UPDATE customers c SET
    address = COALESCE(m.parts[1], ''),
    postcode = m.parts[2],
    city = m.parts[3],
    country = 'FR'
FROM (SELECT id, regexp_match(address, '^(?:(.*)(?:\n|, ))?([0-9]{5}) +([^\n,]*[^[:space:],])[[:space:]]*$') AS parts
      FROM customers) m
WHERE c.id = m.id AND m.parts IS NOT NULL;

-- A business receives at its SIREN unless it says otherwise.
UPDATE customers SET electronic_address = siren, electronic_address_scheme = '0225'
WHERE kind = 'business' AND siren IS NOT NULL;

ALTER TABLE billing_settings ADD COLUMN postcode TEXT NOT NULL DEFAULT '';
ALTER TABLE billing_settings ADD COLUMN city TEXT NOT NULL DEFAULT '';
ALTER TABLE billing_settings ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE billing_settings ADD COLUMN electronic_address TEXT;
ALTER TABLE billing_settings ADD COLUMN electronic_address_scheme TEXT NOT NULL DEFAULT '0225';
ALTER TABLE billing_settings ADD COLUMN iban TEXT;
ALTER TABLE billing_settings ADD COLUMN bic TEXT;
-- Decides the VAT mention; `vat_mention` keeps the derived text.
ALTER TABLE billing_settings ADD COLUMN vat_regime TEXT NOT NULL DEFAULT 'franchise'
    CHECK (vat_regime IN ('franchise'));
-- Percent a year, a decimal as text. NULL: settings saved before, whose
-- free text stays in `late_penalty_rate` until they are saved again.
ALTER TABLE billing_settings ADD COLUMN late_penalty_percent TEXT;
-- NULL prints "Pas d'escompte pour paiement anticipé".
ALTER TABLE billing_settings ADD COLUMN discount_terms TEXT;

UPDATE billing_settings s SET
    address = COALESCE(m.parts[1], ''),
    postcode = m.parts[2],
    city = m.parts[3],
    country = 'FR'
FROM (SELECT id, regexp_match(address, '^(?:(.*)(?:\n|, ))?([0-9]{5}) +([^\n,]*[^[:space:],])[[:space:]]*$') AS parts
      FROM billing_settings) m
WHERE s.id = m.id AND m.parts IS NOT NULL;
UPDATE billing_settings SET electronic_address = siren;

-- Per invoice: the date (or period) of the sale or service (C. com.
-- L441-9; set at issue to the issue date when the draft gave none), the
-- customer's purchase order (BT-13), the delivery address when it differs
-- from the customer's (JSON: lines, postcode, city, country).
ALTER TABLE invoices ADD COLUMN service_date DATE;
ALTER TABLE invoices ADD COLUMN service_period_start DATE;
ALTER TABLE invoices ADD COLUMN service_period_end DATE;
ALTER TABLE invoices ADD COLUMN purchase_order TEXT;
ALTER TABLE invoices ADD COLUMN delivery_address JSONB;

-- Frozen with the invoice once issued, as its other columns.
CREATE FUNCTION invoices_details_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'draft' AND (
        NEW.service_date IS DISTINCT FROM OLD.service_date
        OR NEW.service_period_start IS DISTINCT FROM OLD.service_period_start
        OR NEW.service_period_end IS DISTINCT FROM OLD.service_period_end
        OR NEW.purchase_order IS DISTINCT FROM OLD.purchase_order
        OR NEW.delivery_address IS DISTINCT FROM OLD.delivery_address) THEN
        RAISE EXCEPTION 'issued invoice % is immutable: correct it with a credit note', OLD.reference
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER invoices_details_guard BEFORE UPDATE ON invoices FOR EACH ROW EXECUTE FUNCTION invoices_details_guard();
