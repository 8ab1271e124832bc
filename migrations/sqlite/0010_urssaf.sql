-- URSSAF declarations: two settings of the seller (see the PostgreSQL
-- migration for the comments).
ALTER TABLE billing_settings
    ADD COLUMN services_category TEXT NOT NULL DEFAULT 'bic'
        CHECK (services_category IN ('bic', 'bnc'));
ALTER TABLE billing_settings
    ADD COLUMN declaration_frequency TEXT NOT NULL DEFAULT 'quarterly'
        CHECK (declaration_frequency IN ('monthly', 'quarterly'));
