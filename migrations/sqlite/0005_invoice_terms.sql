-- Payment terms chosen for one invoice (days after its issue date); none means
-- the seller's default. Set on a draft; frozen with the invoice once issued.
ALTER TABLE invoices ADD COLUMN payment_terms_days INTEGER
    CHECK (payment_terms_days BETWEEN 0 AND 60);

CREATE TRIGGER invoices_terms_immutable BEFORE UPDATE OF payment_terms_days ON invoices
WHEN OLD.status <> 'draft' AND NEW.payment_terms_days IS NOT OLD.payment_terms_days
BEGIN SELECT RAISE(ABORT, 'issued invoice is immutable: correct it with a credit note'); END;
