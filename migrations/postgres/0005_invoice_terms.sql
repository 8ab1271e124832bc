-- Payment terms chosen for one invoice (days after its issue date); none means
-- the seller's default. Set on a draft; frozen with the invoice once issued.
ALTER TABLE invoices ADD COLUMN payment_terms_days INTEGER
    CHECK (payment_terms_days BETWEEN 0 AND 60);

CREATE FUNCTION invoices_terms_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'draft' AND NEW.payment_terms_days IS DISTINCT FROM OLD.payment_terms_days THEN
        RAISE EXCEPTION 'issued invoice % is immutable: correct it with a credit note', OLD.reference
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER invoices_terms_guard BEFORE UPDATE ON invoices FOR EACH ROW EXECUTE FUNCTION invoices_terms_guard();
